#!/usr/bin/env bash
# netassist bench beside echoload (../shared/bench/echoload.c, a single-threaded C epoll
# client) against the same echo server (netassist listen --echo --quiet), one run:
#
#   bench/bench_vs_echoload.sh          (run from the project root)
#
# Server on core 0, load client on core 1. Figures: round trips/s and the client's CPU use.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/bench" && pwd)
secs=${SECS:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
gcc -O2 -o "$work/echoload" "$shared/echoload.c"
cargo build --release --quiet
pin_server=""; pin_client=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_server="taskset -c 0"; pin_client="taskset -c 1"; fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$pin_server ./target/release/netassist listen "$port" --bind 127.0.0.1 --echo --quiet >/dev/null 2>&1 &
sleep 0.5

TIMEFORMAT=%P
measure() { # label command... -> "rate cpu%"
  local out cpu
  { cpu=$( { time "$@" > "$work/out" 2>/dev/null; } 2>&1 ); } || true
  echo "$(cat "$work/out" | tail -1) cpu=$cpu"
}
printf '%-28s %12s %10s %12s\n' "workload" "echoload" "bench" "bench/echoload"
for w in "16 64" "1 64" "64 64" "16 1024"; do
  read -r c l <<<"$w"
  e=$(measure $pin_client "$work/echoload" 127.0.0.1 "$port" -c "$c" -l "$l" -t "$secs")
  b=$(measure $pin_client ./target/release/netassist bench 127.0.0.1 "$port" -c "$c" -l "$l" -d "$secs" --json)
  er=$(echo "$e" | tr ' ' '\n' | awk -F= '$1=="rate"{sub("/s","",$2); print $2}')
  br=$(echo "$b" | grep -o '"rate":[0-9.]*' | cut -d: -f2)
  ec=$(echo "$e" | grep -o 'cpu=[0-9.]*' | cut -d= -f2)
  bc=$(echo "$b" | grep -o 'cpu=[0-9.]*' | cut -d= -f2)
  printf '%-28s %12s %10.0f %12.2f\n' "-c $c -l $l (round trips/s)" "$er" "$br" "$(awk -v a="$br" -v b="$er" 'BEGIN{print a/b}')"
  printf '%-28s %11s%% %9s%%\n' "  client CPU" "$ec" "$bc"
done
