#!/usr/bin/env bash
# The device simulator's cost per message: a plain echo server beside the same server with
# framing and 10 reply rules that never match (5 prefix, 3 contains, 2 regex), so every
# message runs through the splitter and every rule before it is echoed. Same client
# (../shared/bench/echoload.c, 16 connections x 64 B), rounds alternating. Goal: >= 0.8x.
#
#   bench/device_speed.sh [ROUNDS]            (run from the project root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/bench" && pwd)
rounds=${1:-5}; secs=${SECS:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
gcc -O2 -o "$work/echoload" "$shared/echoload.c"
cargo build --release --quiet
pin_server=""; pin_client=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_server="taskset -c 0"; pin_client="taskset -c 1"; fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

rules=()
for i in 0 1 2 3 4; do rules+=(--rule "prefix:NOPE$i => x"); done
for i in 0 1 2; do rules+=(--rule "contains:ZZZ$i => x"); done
for i in 0 1; do rules+=(--rule "re:^QQ$i[0-9]+\$ => x"); done
p_plain=$(free_port); p_rules=$(free_port)
$pin_server ./target/release/netassist listen "$p_plain" --bind 127.0.0.1 --echo --quiet >/dev/null 2>&1 &
# echoload's messages are 64 random bytes: fixed:64 frames them exactly.
$pin_server ./target/release/netassist listen "$p_rules" --bind 127.0.0.1 --echo --quiet --frame fixed:64 "${rules[@]}" >/dev/null 2>&1 &
wait_port "$p_plain"; wait_port "$p_rules"

rate() { $pin_client "$work/echoload" 127.0.0.1 "$1" -c 16 -l 64 -t "$secs" | tail -1 | tr ' ' '\n' | awk -F= '$1=="rate"{sub("/s","",$2); print $2}'; }
printf '%-8s %14s %22s %8s\n' round "plain msg/s" "frame+10 rules msg/s" ratio
ratios=()
for i in $(seq "$rounds"); do
  a=$(rate "$p_plain"); b=$(rate "$p_rules")
  r=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b/a}')
  ratios+=("$r")
  printf '%-8s %14s %22s %8s\n' "$i" "$a" "$b" "$r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END{printf "median ratio %.2f (goal >= 0.80)\n", v[int((NR+1)/2)]}'
