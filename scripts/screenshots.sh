#!/usr/bin/env bash
# Renders the README's pictures (docs/*.svg) from the real console.
#
#   scripts/screenshots.sh            # all of them
#   scripts/screenshots.sh wide       # only some: wide narrow ignition viewer map timeline chart
#
# Each picture is the console running on the embedded sandbox inside a tmux
# server of its own, driven with send-keys, captured with its colours
# (capture-pane -e) and drawn as SVG by charmbracelet/freeze, pinned beside
# VHS in .ci/tools. Needs go, tmux, ssh and ssh-keygen. Nothing outside a
# temporary directory is read or written but docs/: no config of yours is
# used (XDG_CONFIG_HOME and XDG_STATE_HOME point into that directory), and
# the sandbox hands out the confirmation code 123456
# (FLEETDECK_SANDBOX_FIXED_CODE), so the pictures show the same flow each time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

for tool in go tmux ssh ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "screenshots: $tool is needed" >&2; exit 1; }
done

shots=("$@")
[ ${#shots[@]} -gt 0 ] || shots=(wide narrow ignition viewer map timeline chart)

work=$(mktemp -d)
sock="fleetdeck-shots-$$"
serve_pid=""
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  if [ -n "$serve_pid" ]; then
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building fleetdeck and freeze"
go build -o "$work/fleetdeck" .
(cd .ci/tools && go build -o "$work/freeze" github.com/charmbracelet/freeze)

export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state"
export FLEETDECK_SANDBOX_FIXED_CODE=123456
unset FLEETDECK_CONFIG
mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" docs

t() { tmux -L "$sock" -f /dev/null "$@"; }

# start NAME COLS ROWS COMMAND: a detached session of exactly that size,
# in true colour on a dark background.
start() {
  local name=$1 cols=$2 rows=$3 cmd=$4
  t new-session -d -s "$name" -x "$cols" -y "$rows" \
    -e TERM=xterm-256color -e COLORTERM=truecolor "$cmd"
  t set-option -t "$name" status off >/dev/null
  t set-option -t "$name" default-terminal xterm-256color >/dev/null
  t resize-window -t "$name" -x "$cols" -y "$rows" >/dev/null
}

# wait_for NAME TEXT [SECONDS]: until the screen shows TEXT.
wait_for() {
  local name=$1 text=$2 limit=${3:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    if t capture-pane -p -t "$name" 2>/dev/null | grep -qF -- "$text"; then
      return 0
    fi
    sleep 0.1
  done
  echo "screenshots: $name never showed \"$text\"; the screen was:" >&2
  t capture-pane -p -t "$name" >&2 || true
  exit 1
}

keys() { t send-keys -t "$1" "${@:2}"; sleep 0.3; }

# quiet NAME: dismiss the toasts (N), so that none covers what the picture
# is about; events keep coming on the sandbox (a clearance changes, say).
quiet() { keys "$1" N; }

# shoot NAME FILE: the screen with its colours, drawn by freeze.
shoot() {
  local name=$1 out=$2 ansi="$work/$1.ansi"
  # -N keeps trailing spaces, so every line is as wide as the terminal.
  # freeze v0.2.2 knows neither SGR 39 nor 49 (back to the default
  # colours), which tmux writes: it would carry the last colour on. They
  # become its theme's text colour and the window's background.
  t capture-pane -e -p -N -t "$name" |
    sed -e 's/\x1b\[39m/\x1b[38;2;196;196;196m/g' -e 's/\x1b\[49m/\x1b[48;2;23;23;23m/g' >"$ansi"
  "$work/freeze" "$ansi" --language ansi --output "$out" \
    --window --background "#171717" --border.radius 8 --border.width 1 --border.color "#515151" \
    --padding 20,40,20,20 --margin 0 --font.size 14 --line-height 1.2 >/dev/null
  echo "   $out"
}

# console NAME COLS ROWS: the console on the sandbox, its first list loaded
# and a few seconds of telemetry on the feed.
console() {
  start "$1" "$2" "$3" "$work/fleetdeck --log-file $work/$1.log"
  wait_for "$1" "vehicles ·" 60
  # Long enough for the trends to have a few samples.
  sleep 8
}

shot_wide() {
  echo "== wide layout (200x50)"
  console wide 200 50
  # Something in the history and the journal: lock a door, watch it end.
  keys wide 3
  keys wide Enter
  wait_for wide "Success" 30
  keys wide 2
  keys wide Down
  # The sandbox updates each property every few seconds: give the trends
  # some samples.
  sleep 25
  quiet wide
  shoot wide docs/console-wide.svg
  t kill-session -t wide
}

shot_narrow() {
  echo "== narrow tabs (80x24)"
  console narrow 80 24
  keys narrow 2
  # Every property has arrived by then, and the trends have a few samples.
  sleep 25
  quiet narrow
  shoot narrow docs/console-narrow.svg
  t kill-session -t narrow
}

shot_ignition() {
  echo "== ignition confirmation (120x34)"
  console ignition 120 34
  keys ignition 3
  keys ignition Right
  # lock_door unlock_door location diagnostics enable_ignition disable_ignition
  for _ in 1 2 3 4 5; do keys ignition Down; done
  wait_for ignition "▸ disable_ignition"
  keys ignition Enter
  # The modal asks why first, then shows the code counting down.
  wait_for ignition "Why is this vehicle being immobilised?"
  keys ignition -l "stolen, police case 2025-118"
  keys ignition Enter
  wait_for ignition "Code      123456"
  sleep 3
  shoot ignition docs/ignition-confirm.svg
  t kill-session -t ignition
}

# ssh_session NAME COLS ROWS PORT USER KEY: a session of the ops box's
# console on 127.0.0.1:PORT.
ssh_session() {
  start "$1" "$2" "$3" "ssh -q -i $6 -p $4 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR $5@127.0.0.1"
  wait_for "$1" "vehicles ·" 60
}

shot_viewer() {
  echo "== the ops box over SSH, as a viewer (200x50)"
  # alice operates, bob only watches.
  ssh-keygen -q -t ed25519 -N "" -C "alice@docs" -f "$work/operator"
  ssh-keygen -q -t ed25519 -N "" -C "bob@docs" -f "$work/viewer"
  {
    printf 'environment="FLEETDECK_ROLE=operator" %s\n' "$(cat "$work/operator.pub")"
    printf 'environment="FLEETDECK_ROLE=viewer" %s\n' "$(cat "$work/viewer.pub")"
  } >"$work/authorized_keys"
  chmod 600 "$work/authorized_keys"
  "$work/fleetdeck" serve --listen 127.0.0.1:0 --authorized-keys "$work/authorized_keys" \
    --host-key "$work/host_key" --log-file "$work/serve.log" >"$work/serve.out" 2>&1 &
  serve_pid=$!
  local addr="" i
  for ((i = 0; i < 600; i++)); do
    addr=$(sed -n 's/^fleetdeck serving the console over SSH on \(.*\)$/\1/p' "$work/serve.out")
    [ -n "$addr" ] && break
    kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.out" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "screenshots: serve did not start" >&2; cat "$work/serve.out" >&2; exit 1; }
  # Something in the journal bob reads: alice locks a door.
  ssh_session operator 120 34 "${addr##*:}" alice "$work/operator"
  keys operator 3
  keys operator Enter
  wait_for operator "Success" 30
  t kill-session -t operator
  ssh_session viewer 200 50 "${addr##*:}" bob "$work/viewer"
  keys viewer 3
  wait_for viewer "alice"
  # Enough telemetry for the trends.
  sleep 20
  quiet viewer
  shoot viewer docs/ops-box-viewer.svg
  t kill-session -t viewer
  kill "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
}

# down_to NAME TEXT: press down until the screen shows TEXT (at most 60 times).
down_to() {
  local name=$1 text=$2 i
  for ((i = 0; i < 60; i++)); do
    if t capture-pane -p -t "$name" | grep -qF -- "$text"; then
      return 0
    fi
    keys "$name" Down
  done
  echo "screenshots: $name never showed \"$text\"" >&2
  exit 1
}

shot_map() {
  echo "== the map (140x40)"
  console map 140 40
  # Something in the journal strip under the map: lock a door.
  keys map 3
  keys map Enter
  wait_for map "Success" 30
  # Every vehicle has sent its position by now.
  sleep 15
  keys map 4
  wait_for map "on the map"
  # Go to Telemetry's selected vehicle, then out to a few of its cities.
  keys map .
  for _ in 1 2 3 4 5 6 7 8 9 10; do keys map -; done
  sleep 2
  quiet map
  shoot map docs/map.svg
  t kill-session -t map
}

shot_timeline() {
  echo "== a vehicle's timeline (140x40)"
  console timeline 140 40
  # A command in the journal first, then the timeline of its vehicle.
  keys timeline 3
  keys timeline Enter
  wait_for timeline "Success" 30
  # A minute of driving: ignition, starts and stops.
  sleep 60
  keys timeline t
  wait_for timeline "last message on the feed"
  shoot timeline docs/timeline.svg
  t kill-session -t timeline
}

shot_chart() {
  echo "== a chart (140x40)"
  console chart 140 40
  keys chart 2
  sleep 2
  local try i
  for ((try = 0; try < 4; try++)); do
    # A vehicle on the move, so that its odometer has a slope.
    for ((i = 0; i < 20; i++)); do
      t capture-pane -p -t chart | grep -qE 'diagnostics\.speed +[1-9][0-9]' && break
      keys chart Down
      sleep 1
    done
    keys chart Right
    down_to chart "▸ diagnostics.odometer"
    # The long history starts when the vehicle is selected: let it grow.
    sleep 90
    keys chart Enter
    wait_for chart "Chart ·"
    # It parked meanwhile (a flat line): try the next one.
    t capture-pane -p -t chart | grep -qE 'min ([0-9.]+) km · max \1 km' || break
    keys chart Escape
    keys chart Left
    keys chart Down
  done
  shoot chart docs/chart.svg
  t kill-session -t chart
}

for s in "${shots[@]}"; do
  case $s in
    wide | narrow | ignition | viewer | map | timeline | chart) "shot_$s" ;;
    *) echo "screenshots: unknown picture $s (wide, narrow, ignition, viewer, map, timeline, chart)" >&2; exit 2 ;;
  esac
done
echo "done: $(cd "$root" && ls docs/*.svg | tr '\n' ' ')"
