#!/usr/bin/env bash
# TCP throughput through netassist relay beside socat and iperf3 direct, in one run:
#
#   bench/relay_compare.sh          (run from the project root; installs iperf3 and socat if missing)
#
# iperf3 sends for SECS seconds (default 5) through each path; figures are receiver Gbit/s
# and ratios. Also the cost of showing what passes: --dump hex into a file, and --pcap.
set -euo pipefail
secs=${SECS:-5}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
for tool in iperf3 socat; do
  command -v $tool >/dev/null || { apt-get update -qq && apt-get install -y -qq $tool >/dev/null; }
done
cargo build --release --quiet
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "nothing listens on $1" >&2; return 1; }

target=$(free_port)
iperf3 -s -p "$target" >/dev/null 2>&1 &
wait_port "$target"

gbps() { # port -> receiver Gbit/s
  iperf3 -c 127.0.0.1 -p "$1" -t "$secs" -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
through() { # "command with {PORT} and its own output redirection" -> Gbit/s through it
  local port; port=$(free_port)
  bash -c "exec ${1//\{PORT\}/$port}" &
  local pid=$!
  wait_port "$port"
  gbps "$port"
  kill -INT $pid; wait $pid 2>/dev/null || true
}

direct=$(gbps "$target")
relay="./target/release/netassist relay {PORT} 127.0.0.1 $target --bind 127.0.0.1"
socat=$(through "socat TCP-LISTEN:{PORT},reuseaddr,fork TCP:127.0.0.1:$target 2>/dev/null")
ours=$(through "$relay --quiet >/dev/null 2>&1")
hex=$(through "$relay --dump hex >$work/dump.txt 2>&1")
pcap=$(through "$relay --quiet --pcap $work/relay.pcap >/dev/null 2>&1")
dump_size=$(du -h "$work/dump.txt" | cut -f1); pcap_size=$(du -h "$work/relay.pcap" | cut -f1)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b>0)?a/b:0}'; }
printf '%-44s %10s %12s %12s\n' "path (iperf3, $secs s)" "Gbit/s" "ours/this" "this/direct"
printf '%-44s %10s %12s %12s\n' "direct" "$direct" "$(ratio "$ours" "$direct")" "1.00"
printf '%-44s %10s %12s %12s\n' "socat TCP-LISTEN,fork TCP" "$socat" "$(ratio "$ours" "$socat")" "$(ratio "$socat" "$direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --quiet" "$ours" "1.00" "$(ratio "$ours" "$direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --dump hex > file ($dump_size)" "$hex" "$(ratio "$ours" "$hex")" "$(ratio "$hex" "$direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --quiet --pcap file ($pcap_size)" "$pcap" "$(ratio "$ours" "$pcap")" "$(ratio "$pcap" "$direct")"
