#!/usr/bin/env bash
# Soak: clients connecting, echoing and leaving for a long time; the server's memory must
# stay flat, it must not leak file descriptors, and nothing may go wrong.
#
#   bench/soak.sh [SECONDS] [CLIENTS]        (default 600 s, 1000 clients; from the project root)
#
# netassist bench --mode churn keeps CLIENTS connections cycling (connect, send 64 bytes,
# check the echo, close) against netassist listen --echo --quiet. Every 30 s the server's
# RSS and open descriptors are printed; at the end, the figures before and after.
set -euo pipefail
secs=${1:-600}
clients=${2:-1000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n $((clients * 2 + 1000))
cargo build --release --quiet
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./target/release/netassist listen "$port" --bind 127.0.0.1 --backlog 4096 --echo --quiet --json >"$work/server.log" 2>&1 &
server=$!
sleep 0.5
fds() { ls "/proc/$server/fd" | wc -l; }
rss() { awk '$1=="VmRSS:"{print $2}' "/proc/$server/status"; }
fd0=$(fds); rss0=$(rss)
echo "before: $fd0 fds, RSS $((rss0 / 1024)) MiB"
./target/release/netassist bench 127.0.0.1 "$port" --mode churn -c "$clients" -d "$secs" --json >"$work/bench.log" 2>&1 &
load=$!
printf '%8s %8s %10s %12s\n' elapsed fds "RSS MiB" "cycles/s"
start=$(date +%s)
while kill -0 $load 2>/dev/null; do
  sleep 30
  kill -0 $load 2>/dev/null || break
  rate=$(grep '"progress"' "$work/bench.log" | tail -1 | grep -o '"rate":[0-9.]*' | cut -d: -f2)
  printf '%8s %8s %10s %12s\n' "$(( $(date +%s) - start ))s" "$(fds)" "$(( $(rss) / 1024 ))" "${rate:-?}"
done
wait $load || true
sleep 2   # the last connections finish closing
fd1=$(fds); rss1=$(rss)
summary=$(tail -1 "$work/bench.log")
echo "after:  $fd1 fds, RSS $((rss1 / 1024)) MiB, peak RSS $(( $(awk '$1=="VmHWM:"{print $2}' "/proc/$server/status") / 1024 )) MiB"
echo "load:   $(echo "$summary" | grep -o '"rounds":[0-9]*'), $(echo "$summary" | grep -o '"rate":[0-9.]*'), $(echo "$summary" | grep -o '"errors":[0-9]*'), $(echo "$summary" | grep -o '"mismatches":[0-9]*')"
echo "server: $(grep -c '"event":"error"' "$work/server.log" || true) error events"
[ "$fd1" -le "$fd0" ] || { echo "file descriptors leaked: $fd0 -> $fd1" >&2; exit 1; }
