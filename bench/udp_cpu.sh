#!/usr/bin/env bash
# Server CPU per UDP datagram round trip, netassist beside a plain C recvfrom/sendto loop
# and a one-loop Python echo, one run each (../shared/bench/udp_cpu.sh does the measuring):
#
#   bench/udp_cpu.sh            (run from the project root)
#
# For `listen --udp --echo --quiet` (the load client checks every echo, so a `--reply`
# server cannot be measured with it; it takes the same receive and send path). Lower is
# better; "efficiency ours vs c-loop" above 1 means less CPU than the C loop.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/bench" && pwd)
cargo build --release --quiet
bin=./target/release/netassist
echo "== listen --udp --echo --quiet"
bash "$shared/udp_cpu.sh" "$bin listen {PORT} --udp --echo --quiet --bind 127.0.0.1"
