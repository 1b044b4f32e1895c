#!/usr/bin/env bash
# Smoke test: the console on the embedded default, seen through tmux as a user
# sees it. Starts `fleetdeck` with no config, waits until all three views show
# sandbox data, opens help, switches tabs at a narrow size, and quits.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
sock="$work/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/fleetdeck" .
# No config anywhere: the console must start the sandbox by itself.
env -u FLEETDECK_CONFIG HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_STATE_HOME="$work/home/.state" \
  tmux -S "$sock" new-session -d -s smoke -x 200 -y 50 "$work/fleetdeck; echo EXITED \$?; sleep 30"

capture() { tmux -S "$sock" capture-pane -p -t smoke; }

# wait_for REGEX SECONDS: poll the screen until REGEX matches.
wait_for() {
  local re=$1 secs=$2 i
  for ((i = 0; i < secs * 5; i++)); do
    if capture | grep -Eq -- "$re"; then return 0; fi
    sleep 0.2
  done
  echo "smoke: timed out waiting for /$re/; the screen was:"; capture; return 1
}

wait_for 'SANDBOX' 15
# Clearance: the default fleet's vehicles and their statuses.
wait_for 'WBA5R1C51KAJ98123' 15
wait_for 'approved' 10
# Telemetry: connected, vehicles on the feed, a selected vehicle's properties.
wait_for 'connected' 15
wait_for 'odometer' 15
# Commands: approved vehicles to pick from.
wait_for 'lock_door|disable_ignition' 10

screen=$(capture)
for want in Clearance Telemetry Commands; do
  grep -q "$want" <<<"$screen" || { echo "smoke: no $want view:"; echo "$screen"; exit 1; }
done
echo "$screen" > "$work/screen.txt"

# Help, then back.
tmux -S "$sock" send-keys -t smoke '?'
wait_for 'quit' 5
tmux -S "$sock" send-keys -t smoke '?'

# Narrow: tabs. 80x24 must stay usable.
tmux -S "$sock" resize-window -t smoke -x 80 -y 24
sleep 0.5
tmux -S "$sock" send-keys -t smoke '2'
wait_for 'odometer|Telemetry' 5
tmux -S "$sock" send-keys -t smoke '3'
wait_for 'Commands' 5

tmux -S "$sock" send-keys -t smoke 'q'
wait_for 'EXITED 0' 10
echo "smoke: the console came up on the sandbox with all three views populated, and quit cleanly"
