#!/usr/bin/env bash
# The terminal UI under a flood: CLIENTS clients each sending RATE messages/s into
# `netassist listen --ui` (in tmux), while keys are typed into the send box. Figures: how
# long a key takes to show on the screen (typed with tmux send-keys, seen with
# capture-pane, which adds a few ms), and the UI's memory.
#
#   bench/ui_flood.sh [CLIENTS] [RATE_EACH] [SECONDS]     (default 100 1000 20)
#   UI_ARGS="--show both" bench/ui_flood.sh               (the hexdump view; wrap is on by default)
set -euo pipefail
clients=${1:-100}; rate=${2:-1000}; secs=${3:-20}
command -v tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux >/dev/null; }
cargo build --release --quiet
na=$PWD/target/release/netassist
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
session=netassist-flood-$$
trap 'tmux kill-session -t $session 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true' EXIT
timing=$(mktemp)
tmux new-session -d -s "$session" -x 120 -y 40 "NETASSIST_UI_TIMING=$timing $na listen $port --bind 127.0.0.1 --ui --log-lines 10000 ${UI_ARGS:-}"
until tmux capture-pane -p -t "$session" | grep -q "listening on"; do sleep 0.05; done
# The netassist process itself, not the shell tmux may start it from.
ui=$(for p in $(pgrep -f "listen $port --bind 127.0.0.1 --ui"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = netassist ] && echo "$p"; done | head -1)
rss() { awk '$1=="VmRSS:"{print int($2/1024)}' "/proc/$ui/status"; }
echo "UI RSS before: $(rss) MiB"
"$na" bench 127.0.0.1 "$port" --mode sink -c "$clients" -l 32 --rate $((clients * rate)) -d "$secs" --json > /tmp/ui_flood_bench.$$ 2>&1 &
load=$!
sleep 3
lat=()
for i in $(seq 10 39); do
  mark="k${i}x"
  t0=$(date +%s%N)
  tmux send-keys -l -t "$session" "$mark"
  until tmux capture-pane -p -t "$session" | grep -q "$mark"; do :; done
  t1=$(date +%s%N)
  lat+=($(( (t1 - t0) / 1000000 )))
  sleep 0.2
done
mid=$(rss)
wait $load || true
summary=$(tail -1 /tmp/ui_flood_bench.$$); rm -f /tmp/ui_flood_bench.$$
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
p50=$(echo "$sorted" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
max=$(echo "$sorted" | tail -1)
echo "flood: $clients clients x $rate msg/s: $(echo "$summary" | grep -o '"rate":[0-9.]*' | cut -d: -f2) msg/s sent, $(echo "$summary" | grep -o '"errors":[0-9]*')"
echo "key to screen (30 keys, ms): p50 $p50, max $max  (all: $(echo $sorted))"
echo "UI RSS during the flood: $mid MiB, after: $(rss) MiB"
tmux capture-pane -p -t "$session" | tail -1
tmux send-keys -t "$session" F10
for _ in $(seq 100); do [ -s "$timing" ] && break; sleep 0.05; done
echo "inside the UI, key to finished frame: $(cat "$timing")"
