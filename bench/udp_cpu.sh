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
# itself allows. Lower is better; "efficiency ours vs c-loop" above 1 means less CPU than
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
