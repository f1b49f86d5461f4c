#!/usr/bin/env bash
# TCP throughput through netassist relay beside socat and iperf3 direct, in one run:
#
#   bench/relay_compare.sh          (run from the project root; installs what it needs if missing)
#
# iperf3 sends for SECS seconds (default 5) through each path; figures are receiver Gbit/s
# and ratios. Also the cost of showing what passes: --dump hex into a file, and --pcap.
# Then small messages: redis-benchmark GET (16 connections, REQS requests, default 200000)
# direct, through socat, through the relay (--quiet), through `relay --socks5 --quiet`
# (redis-benchmark reaches it through proxychains4, which hooks connect() only: the bytes
# then go through plain reads and writes), and to redis's Unix socket through the relay;
# beside them a minimal C epoll relay (bench/crelay.c: read once, write to the partner,
# nothing else), the practical limit for a relay on this machine. Needs gcc.
set -euo pipefail
secs=${SECS:-5}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
for tool in iperf3 socat redis-server redis-tools proxychains4; do
  bin=$tool; [ $tool = redis-tools ] && bin=redis-benchmark
  command -v $bin >/dev/null || { apt-get update -qq && apt-get install -y -qq $tool >/dev/null; }
done
cargo build --release --quiet
gcc -O2 -o "$work/crelay" "$(dirname "$0")/crelay.c"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "nothing listens on $1" >&2; return 1; }

target=$(free_port)
iperf3 -s -p "$target" >/dev/null 2>&1 &
wait_port "$target"

gbps() { # port -> receiver Gbit/s
  # iperf3's server runs one test at a time: right after a path is stopped (socat's forked
  # child may still hold its connection) it can answer "busy"; try again then.
  local out
  for _ in 1 2 3 4 5; do
    out=$(iperf3 -c 127.0.0.1 -p "$1" -t "$secs" -J | python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["end"].get("sum_received"); print("%.2f" % (r["bits_per_second"] / 1e9) if r else "")')
    [ -n "$out" ] && { echo "$out"; return; }
    sleep 1
  done
  echo "iperf3 found its server busy five times" >&2; echo 0
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
c_relay=$(through "$work/crelay {PORT} $target")
hex=$(through "$relay --dump hex >$work/dump.txt 2>&1")
pcap=$(through "$relay --quiet --pcap $work/relay.pcap >/dev/null 2>&1")
dump_size=$(du -h "$work/dump.txt" | cut -f1); pcap_size=$(du -h "$work/relay.pcap" | cut -f1)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b>0)?a/b:0}'; }
printf '%-44s %10s %12s %12s\n' "path (iperf3, $secs s)" "Gbit/s" "ours/this" "this/direct"
printf '%-44s %10s %12s %12s\n' "direct" "$direct" "$(ratio "$ours" "$direct")" "1.00"
printf '%-44s %10s %12s %12s\n' "socat TCP-LISTEN,fork TCP" "$socat" "$(ratio "$ours" "$socat")" "$(ratio "$socat" "$direct")"
printf '%-44s %10s %12s %12s\n' "C epoll relay (bench/crelay.c)" "$c_relay" "$(ratio "$ours" "$c_relay")" "$(ratio "$c_relay" "$direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --quiet" "$ours" "1.00" "$(ratio "$ours" "$direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --dump hex > file ($dump_size)" "$hex" "$(ratio "$ours" "$hex")" "$(ratio "$hex" "$direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --quiet --pcap file ($pcap_size)" "$pcap" "$(ratio "$ours" "$pcap")" "$(ratio "$pcap" "$direct")"

# Small messages: redis GET.
reqs=${REQS:-200000}
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --unixsocket "$work/redis.sock" --save '' --dir "$work" >/dev/null &
wait_port "$rport"
gets() { # port [wrapper...] -> GET requests/s
  local port=$1; shift
  "$@" redis-benchmark -h 127.0.0.1 -p "$port" -t get -c 16 -n "$reqs" --csv 2>/dev/null |
    awk -F, '/"GET"/ {gsub(/"/, "", $2); printf "%.0f", $2}'
}
through_gets() { # "command with {PORT}" [wrapper...] -> GET requests/s through it
  local cmd=$1; shift
  local port; port=$(free_port)
  bash -c "exec ${cmd//\{PORT\}/$port}" &
  local pid=$!
  wait_port "$port"
  gets "$port" "$@"
  kill -INT $pid; wait $pid 2>/dev/null || true
}
r_direct=$(gets "$rport")
r_socat=$(through_gets "socat TCP-LISTEN:{PORT},reuseaddr,fork TCP:127.0.0.1:$rport 2>/dev/null")
r_relay=$(through_gets "./target/release/netassist relay {PORT} 127.0.0.1 $rport --bind 127.0.0.1 --quiet >/dev/null 2>&1")
r_crelay=$(through_gets "$work/crelay {PORT} $rport")
r_unix=$(through_gets "./target/release/netassist relay {PORT} unix:$work/redis.sock --bind 127.0.0.1 --quiet >/dev/null 2>&1")
sport=$(free_port)
./target/release/netassist relay "$sport" --socks5 --allow-target 127.0.0.1 --bind 127.0.0.1 --quiet >/dev/null 2>&1 &
spid=$!
wait_port "$sport"
printf 'strict_chain\nquiet_mode\n[ProxyList]\nsocks5 127.0.0.1 %s\n' "$sport" >"$work/proxychains.conf"
r_socks=$(gets "$rport" proxychains4 -q -f "$work/proxychains.conf")
kill -INT $spid; wait $spid 2>/dev/null || true

echo
printf '%-44s %10s %12s %12s\n' "path (redis GET, -c 16, $reqs)" "req/s" "relay/this" "this/direct"
printf '%-44s %10s %12s %12s\n' "direct" "$r_direct" "$(ratio "$r_relay" "$r_direct")" "1.00"
printf '%-44s %10s %12s %12s\n' "socat TCP-LISTEN,fork TCP" "$r_socat" "$(ratio "$r_relay" "$r_socat")" "$(ratio "$r_socat" "$r_direct")"
printf '%-44s %10s %12s %12s\n' "C epoll relay (bench/crelay.c, the limit)" "$r_crelay" "$(ratio "$r_relay" "$r_crelay")" "$(ratio "$r_crelay" "$r_direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --quiet" "$r_relay" "1.00" "$(ratio "$r_relay" "$r_direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --socks5 --quiet (proxychains)" "$r_socks" "$(ratio "$r_relay" "$r_socks")" "$(ratio "$r_socks" "$r_direct")"
printf '%-44s %10s %12s %12s\n' "netassist relay --quiet to redis's unix socket" "$r_unix" "$(ratio "$r_relay" "$r_unix")" "$(ratio "$r_unix" "$r_direct")"
echo "(socks5 vs socat: $(ratio "$r_socks" "$r_socat")x)"
