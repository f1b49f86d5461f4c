#!/usr/bin/env bash
# Many clients at once: netassist's echo server beside the lesson's thread-per-client design
# (../shared/bench/seed_echo_mt.py), same client (../shared/bench/echoload.c), same run.
#
#   bench/many_clients.sh [CLIENTS]        (default 5000; run from the project root)
#
# For each server: every client doing 64-byte round trips (all must stay alive), round-trip
# p99, how many round trips the least-served clients completed (a server that starves some
# clients shows a fine p99 over the ones it serves: a starved client adds no samples), the
# server's peak RSS; then as many idle clients and the server's RSS, i.e. what an idle
# client costs. Needs gcc and python3. Figures are ratios: ours / seed.
set -euo pipefail
n=${1:-5000}
secs=${SECS:-5}
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/bench" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n $((n * 2 + 1000))

python3 "$here/echoload_served.py" "$shared/echoload.c" "$work/echoload.c"
gcc -O2 -o "$work/echoload" "$work/echoload.c"
cargo build --release --quiet
pin_server=""; pin_client=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_server="taskset -c 0"; pin_client="taskset -c 1"; fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
kib() { awk -v k="$2" '$1==k":"{print $2}' "/proc/$1/status"; }

# Opens N idle connections, holds them until stdin closes.
cat > "$work/idle.py" <<'EOF'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = []
for _ in range(n):
    s = socket.socket(); s.connect(("127.0.0.1", port)); conns.append(s)
print("open", flush=True)
sys.stdin.read()
EOF

measure() { # name, command with {PORT}
  local name=$1 cmd=$2 port pid out rss_idle rss_base
  port=$(free_port)
  $pin_server ${cmd//\{PORT\}/$port} >/dev/null 2>&1 &
  pid=$!
  wait_port "$port"
  rss_base=$(kib $pid VmRSS)
  out=$($pin_client "$work/echoload" 127.0.0.1 "$port" -c "$n" -l 64 -t "$secs" 2>"$work/served" | tail -1)
  local served; served=$(awk '/^served/{for(i=2;i<=NF;i++){split($i,kv,"="); printf "%s ", kv[2]}}' "$work/served")
  local hwm; hwm=$(kib $pid VmHWM)
  # Idle clients: open them, read the RSS, close them.
  coproc IDLE { python3 "$work/idle.py" "$port" "$n"; }
  read -r _ <&"${IDLE[0]}"
  sleep 1
  rss_idle=$(kib $pid VmRSS)
  eval "exec ${IDLE[1]}>&-"
  wait $IDLE_PID 2>/dev/null || true
  kill $pid; wait $pid 2>/dev/null || true
  local alive p99 p999 rate
  alive=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="alive"{print $2}')
  p99=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="p99_us"{print $2}')
  p999=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="p999_us"{print $2}')
  rate=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="rate"{sub("/s","",$2); print $2}')
  echo "$name $alive $rate $p99 $p999 $hwm $rss_base $rss_idle $served"
}

read -r _ a1 r1 p1 q1 h1 b1 i1 m1 t1 d1 < <(measure ours "./target/release/netassist listen {PORT} --bind 127.0.0.1 --backlog 4096 --echo --quiet")
read -r _ a2 r2 p2 q2 h2 b2 i2 m2 t2 d2 < <(measure seed "python3 $shared/seed_echo_mt.py {PORT}")
printf '%-40s %12s %12s %10s\n' "$n clients" ours seed ours/seed
printf '%-40s %12s %12s\n' "clients alive at the end" "$a1" "$a2"
printf '%-40s %12s %12s\n' "round trips by the least-served client" "$m1" "$m2"
printf '%-40s %12s %12s\n' "... by the 10th-percentile client" "$t1" "$t2"
printf '%-40s %12s %12s\n' "... by the median client" "$d1" "$d2"
printf '%-40s %12s %12s %10.2f\n' "64-byte round trips/s" "$r1" "$r2" "$(awk -v a="$r1" -v b="$r2" 'BEGIN{print a/b}')"
printf '%-40s %12s %12s %10.2f\n' "round trip p99 (us)" "$p1" "$p2" "$(awk -v a="$p1" -v b="$p2" 'BEGIN{print a/b}')"
printf '%-40s %12s %12s %10.2f\n' "round trip p99.9 (us)" "$q1" "$q2" "$(awk -v a="$q1" -v b="$q2" 'BEGIN{print a/b}')"
printf '%-40s %12s %12s %10.2f\n' "peak RSS under load (MiB)" "$((h1 / 1024))" "$((h2 / 1024))" "$(awk -v a="$h1" -v b="$h2" 'BEGIN{print a/b}')"
printf '%-40s %12s %12s %10.2f\n' "RSS with $n idle clients (MiB)" "$((i1 / 1024))" "$((i2 / 1024))" "$(awk -v a="$i1" -v b="$i2" 'BEGIN{print a/b}')"
printf '%-40s %12s %12s\n' "bytes per idle client" "$(( (i1 - b1) * 1024 / n ))" "$(( (i2 - b2) * 1024 / n ))"
