#!/usr/bin/env bash
# bench/telemetry.sh — how fast does `fleetdeck telemetry tail` take messages
# off a broker, next to mosquitto_sub, on the same broker in the same run?
#
# Starts Debian's mosquitto on loopback, then for each round runs both
# subscribers one after the other (the order alternates), each subscribed
# before the publisher (bench/publish) sends N messages over V vehicles. A
# run's rate is N / (time from the first publish to the subscriber's exit
# after the N-th message). A subscriber that does not get all N messages
# within TIMEOUT seconds has lost some.
#
# Two variants, each with its own ratio: V1, High Mobility's MQTT V1 (one
# property a message, about 300 bytes, on live/level13/{app}/...), and V2,
# MQTT V2 (N2 messages of 10 properties across 3 capabilities, about 900
# bytes, on live/level13/{app}; fleetdeck prints one line per property, so
# it exits after N2×10 lines). fleetdeck runs with the default topics (both
# forms); mosquitto_sub subscribes to the one the publisher uses.
#
#   N=200000 N2=100000 VEHICLES=10000 ROUNDS=3 QOS=1 VARIANTS="v1 v2" bench/telemetry.sh
set -euo pipefail

N=${N:-200000}
N2=${N2:-100000}
VARIANTS=${VARIANTS:-"v1 v2"}
VEHICLES=${VEHICLES:-10000}
ROUNDS=${ROUNDS:-3}
QOS=${QOS:-1}
TIMEOUT=${TIMEOUT:-300}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
APP=1FBBEDED80595912588FF4FF

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
broker_pid=
cleanup() {
	if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

for tool in "$MOSQUITTO" mosquitto_sub; do
	command -v "$tool" >/dev/null || { echo "telemetry.sh: $tool is not installed" >&2; exit 1; }
done

echo "building fleetdeck and the publisher..." >&2
(cd "$root" && go build -o "$tmp/fleetdeck" . && go build -o "$tmp/publish" ./bench/publish)

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=$((20000 + RANDOM % 20000))
while ! port_free "$port"; do port=$((port + 1)); done

cat >"$tmp/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 0
set_tcp_nodelay true
persistence false
log_dest file $tmp/mosquitto.log
log_type error
log_type warning
log_type subscribe
CONF
[ "$(id -u)" = 0 ] && echo "user root" >>"$tmp/mosquitto.conf"
"$MOSQUITTO" -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.err" &
broker_pid=$!
for _ in $(seq 200); do port_free "$port" || break; sleep 0.05; done
port_free "$port" && { echo "mosquitto did not start:" >&2; cat "$tmp/mosquitto.err" >&2; exit 1; }

# wait_subscribed ID FILTER: mosquitto logs "<time>: ID QOS FILTER" for each subscription.
wait_subscribed() {
	for _ in $(seq 1000); do
		grep -qF " $1 $QOS $2" "$tmp/mosquitto.log" 2>/dev/null && return 0
		sleep 0.01
	done
	echo "telemetry.sh: $1 never subscribed to $2" >&2
	return 1
}

# run NAME ID COMMAND...: prints "rate seconds maxrss_kb status"; the
# variant's message count, publisher flags and filter come from MSGS, PUBFLAGS
# and WAITFILTER.
run() {
	local name=$1 id=$2; shift 2
	/usr/bin/time -f "%M" -o "$tmp/$id.rss" timeout "$TIMEOUT" "$@" >/dev/null 2>"$tmp/$id.err" &
	local pid=$!
	wait_subscribed "$id" "$WAITFILTER"
	local start
	# shellcheck disable=SC2086
	start=$("$tmp/publish" -addr "127.0.0.1:$port" -n "$MSGS" -vehicles "$VEHICLES" -qos "$QOS" -app "$APP" $PUBFLAGS 2>>"$tmp/publish.err")
	local status=ok
	wait "$pid" || status="LOST (exit $?)"
	local end
	end=$(date +%s%N)
	local rss
	rss=$(tail -n 1 "$tmp/$id.rss" 2>/dev/null || echo 0)
	awk -v n="$MSGS" -v s="$start" -v e="$end" -v r="$rss" -v st="$status" -v name="$name" \
		'BEGIN { sec = (e - s) / 1e9; printf "%-14s %9.0f msg/s  %6.3f s  RSS %5.1f MB  %s\n", name, n / sec, sec, r / 1024, st }' >&2
	awk -v n="$MSGS" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f\n", n / ((e - s) / 1e9) }'
}

cat >"$tmp/fleetdeck-base.toml" <<TOML
[telemetry]
broker = "tcp://127.0.0.1:$port"
app_id = "$APP"
qos = $QOS
pseudonymized = "auto"
TOML

# bench VARIANT: ROUNDS rounds of both subscribers, then the ratios.
bench() {
	local variant=$1 sub_topic lines
	case $variant in
	v1) MSGS=$N PUBFLAGS="" sub_topic="live/level13/$APP/#" lines=$N ;;
	v2) MSGS=$N2 PUBFLAGS="-v2" sub_topic="live/level13/$APP" lines=$((N2 * 10)) ;;
	*) echo "telemetry.sh: unknown variant $variant" >&2; exit 2 ;;
	esac
	echo "== $variant: $MSGS messages over $VEHICLES vehicles, QoS $QOS both sides, $ROUNDS rounds" >&2
	local sub_rates=() fd_rates=()
	for round in $(seq "$ROUNDS"); do
		local sub_id="mosquitto_sub-$variant-$round" fd_id="fleetdeck-$variant-$round"
		{ cat "$tmp/fleetdeck-base.toml"; echo "client_id = \"$fd_id\""; } >"$tmp/fleetdeck.toml"
		run_sub() {
			WAITFILTER=$sub_topic
			sub_rates+=("$(run mosquitto_sub "$sub_id" mosquitto_sub -h 127.0.0.1 -p "$port" -i "$sub_id" -q "$QOS" -t "$sub_topic" -C "$MSGS")")
		}
		run_fd() {
			WAITFILTER="live/level13/$APP/#" # the first of the default topics
			fd_rates+=("$(run fleetdeck "$fd_id" "$tmp/fleetdeck" --config "$tmp/fleetdeck.toml" --log-file "$tmp/fleetdeck.log" telemetry tail -n "$lines" --json)")
			grep -v "telemetry connect" "$tmp/$fd_id.err" >&2 || true
			# fleetdeck keeps a persistent session: end it, or the broker would queue the next rounds for it.
			mosquitto_sub -h 127.0.0.1 -p "$port" -i "$fd_id" -t bench/cleanup -E
		}
		echo "round $round" >&2
		if [ $((round % 2)) = 1 ]; then run_sub; run_fd; else run_fd; run_sub; fi
	done
	printf '%s\n' "${sub_rates[@]}" >"$tmp/sub"
	printf '%s\n' "${fd_rates[@]}" >"$tmp/fd"
	paste "$tmp/sub" "$tmp/fd" | awk -v variant="$variant" '
		{ s += $1; f += $2; r[NR] = $2 / $1; if ($1 > bs) bs = $1; if ($2 > bf) bf = $2 }
		END {
			printf "%s mean: mosquitto_sub %.0f msg/s, fleetdeck %.0f msg/s, ratio %.2f\n", variant, s / NR, f / NR, f / s
			printf "%s best: mosquitto_sub %.0f msg/s, fleetdeck %.0f msg/s, ratio %.2f\n", variant, bs, bf, bf / bs
			printf "%s per round:", variant; for (i = 1; i <= NR; i++) printf " %.2f", r[i]; printf "\n"
		}'
}

echo "mosquitto $("$MOSQUITTO" -h 2>/dev/null | head -n 1 | awk '{print $3}') on 127.0.0.1:$port" >&2
for variant in $VARIANTS; do
	bench "$variant"
done
