#!/usr/bin/env bash
# Server CPU per UDP datagram round trip, netassist beside a plain C recvfrom/sendto loop
# and a one-loop Python echo, one run each (../shared/bench/udp_cpu.sh does the measuring):
#
#   bench/udp_cpu.sh            (run from the project root)
#
# Three of ours, each in its own run beside the same peers:
# - `listen --udp --echo --quiet`;
# - `listen --udp --rule 'any => {echo}' --quiet`: the answer path `--reply` and rules take
#   (a responder builds each answer), answering with the datagram itself because the load
#   client checks every echo;
# - `relay --udp --quiet` in front of the C loop: a round trip through the relay is four
#   datagrams for it (client in, target out, target in, client out) against the C loop's
#   two, so its figure is compared with twice the C loop's, and with a minimal C UDP relay
#   (bench/cudprelay.c) in front of the same target. Only the relay's own CPU is counted,
#   not its target's.
# Between the first two, the same batching written in C (bench/cmmsg.c): what the design
# itself allows. Last, the echo beside the C loop and the relay beside the C relay, side by
# side and alternating (RUNS=5 pairs): the median ratio is the figure to quote, as separate
# runs drift more than the difference. Lower is better; "efficiency ours vs c-loop" above 1 means less CPU than
# the C loop.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/bench" && pwd)
cargo build --release --quiet
bin=$PWD/target/release/netassist
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
pin=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin="taskset -c 0"; fi

echo "== listen --udp --echo --quiet"
bash "$shared/udp_cpu.sh" "$bin listen {PORT} --udp --echo --quiet --bind 127.0.0.1"

# The limit of the design: the same batching in C (bench/cmmsg.c), in its own run beside
# the same C loop. "ours" in this table is the C batching loop.
echo "== C recvmmsg/sendmmsg + epoll loop (bench/cmmsg.c: netassist's design, nothing else)"
gcc -O2 -o "$work/cmmsg" "$here/cmmsg.c"
bash "$shared/udp_cpu.sh" "$work/cmmsg {PORT}"

echo "== listen --udp --rule 'any => {echo}' --quiet (the --reply and rules path)"
bash "$shared/udp_cpu.sh" "$bin listen {PORT} --udp --rule any=>{echo} --quiet --bind 127.0.0.1"

echo "== relay --udp --quiet, to a C echo loop (4 datagrams per round trip: compare with 2x c-loop)"
gcc -O2 -o "$work/udpecho" "$shared/udpecho.c"
target=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$pin "$work/udpecho" "$target" &
bash "$shared/udp_cpu.sh" "$bin relay {PORT} 127.0.0.1 $target --udp --quiet --bind 127.0.0.1"

echo "== C UDP relay (bench/cudprelay.c: a connected socket per source, nothing else), to the same target"
gcc -O2 -o "$work/cudprelay" "$here/cudprelay.c"
bash "$shared/udp_cpu.sh" "$work/cudprelay {PORT} $target"

# The figures above come from separate runs, a minute apart, and this machine's figures
# drift between runs by more than the differences sought. So the servers are also measured
# side by side: both running, the same client loading each in turn, RUNS times (default 5),
# and the median of the per-pair ratios is printed.
gcc -O2 -o "$work/echoload" "$shared/echoload.c"
free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hz=$(getconf CLK_TCK)
client_pin=""; if [ -n "$pin" ]; then client_pin="taskset -c 1"; fi
per_round() { # pid port -> us of the pid's CPU per round trip
  local a b r
  a=$(awk '{print $14+$15}' "/proc/$1/stat")
  r=$($client_pin "$work/echoload" 127.0.0.1 "$2" -m udp -c 16 -l 64 -t 3 | tail -1 | tr ' ' '\n' | awk -F= '$1=="rounds"{print $2}')
  b=$(awk '{print $14+$15}' "/proc/$1/stat")
  awk -v t=$((b-a)) -v r="$r" -v hz="$hz" 'BEGIN{printf "%.3f", (r>0 ? t*1e6/hz/r : 0)}'
}
alternate() { # NAME_PEER PID_PEER PORT_PEER NAME_OURS PID_OURS PORT_OURS
  local ratios=() p o ratio
  for ((i = 0; i < ${RUNS:-5}; i++)); do
    p=$(per_round "$2" "$3"); o=$(per_round "$5" "$6")
    ratio=$(awk -v p="$p" -v o="$o" 'BEGIN{printf "%.3f", (o>0 ? p/o : 0)}')
    ratios+=("$ratio")
    printf '%-10s %s   %-12s %s   efficiency %sx\n' "$1" "$p" "$4" "$o" "$ratio"
  done
  printf '%s\n' "${ratios[@]}" | sort -n |
    awk -v a="$4" -v b="$1" '{v[NR]=$1} END{printf "median efficiency of %s vs %s: %sx (above 1 = less CPU)\n", a, b, v[int((NR+1)/2)]}'
}

echo "== side by side, alternating: listen --udp --echo beside the C loop (µs of server CPU per round trip)"
pe=$(free_udp_port); pl=$(free_udp_port)
$pin "$work/udpecho" "$pl" & loop=$!
$pin "$bin" listen "$pe" --udp --echo --quiet --bind 127.0.0.1 >/dev/null 2>&1 & echo_ours=$!
sleep 0.5
alternate c-loop "$loop" "$pl" echo "$echo_ours" "$pe"
kill "$loop" "$echo_ours"

echo "== side by side, alternating: relay --udp beside the C UDP relay (µs of relay CPU per round trip)"
pc=$(free_udp_port); po=$(free_udp_port)
$pin "$work/cudprelay" "$pc" "$target" & crelay=$!
$pin "$bin" relay "$po" 127.0.0.1 "$target" --udp --quiet --bind 127.0.0.1 >/dev/null 2>&1 & ours=$!
sleep 0.5
alternate 'C relay' "$crelay" "$pc" 'relay --udp' "$ours" "$po"
kill "$crelay" "$ours"
