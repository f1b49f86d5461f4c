#!/usr/bin/env bash
# Many clients at once: netassist's echo server beside the C epoll echo (../shared/bench/
# cecho.c, the practical limit), the plain tokio echo (examples/tokio_echo.rs: what the
# runtime itself costs) and the lesson's thread-per-client design
# (../shared/bench/seed_echo_mt.py), same client (../shared/bench/echoload.c), runs alternated.
#
#   bench/many_clients.sh [CLIENTS]     (default 5000; run from the project root)
#   RUNS=3 SECS=5 SEED=0 bench/many_clients.sh 15000
#
# For each server, each run: every client doing 64-byte round trips (all must stay alive),
# the rate, p99 and p99.9, how many round trips the least-served, 10th-percentile and median
# client completed (a server that starves some clients shows a fine p99 over those it serves:
# a starved client adds no samples), the peak RSS; then as many idle clients, the RSS with
# them (and the private part of it, RssAnon: RSS less code and libraries), and (netassist,
# built with --features count-alloc) the bytes its allocator holds for them, exactly. With RUNS > 1 each figure is the median of the runs. SEED=0 leaves the
# lesson's design out (it needs a thread per client). Needs gcc and python3.
set -euo pipefail
n=${1:-5000}
secs=${SECS:-5}
runs=${RUNS:-1}
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/bench" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# Each process holds one descriptor per client (the server raises its own soft limit).
hard=$(ulimit -Hn)
want=$((n + 1000))
ulimit -n $((want < hard ? want : hard))

python3 "$here/echoload_served.py" "$shared/echoload.c" "$work/echoload.c"
gcc -O2 -o "$work/echoload" "$work/echoload.c"
gcc -O2 -o "$work/cecho" "$shared/cecho.c"
# The counting allocator costs an atomic add per allocation; the echo path makes none.
cargo build --release --quiet --features count-alloc
cargo build --release --quiet --example tokio_echo
pin_server=""; pin_client=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_server="taskset -c 0"; pin_client="taskset -c 1"; fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
kib() { awk -v k="$2" '$1==k":"{print $2}' "/proc/$1/status"; }
# What netassist's allocator holds now (SIGUSR1 prints it on stderr).
held() { # pid errfile
  local before; before=$(grep -c netassist-alloc "$2" || true)
  kill -USR1 "$1"
  for _ in $(seq 100); do [ "$(grep -c netassist-alloc "$2" || true)" -gt "$before" ] && break; sleep 0.02; done
  grep netassist-alloc "$2" | tail -1 | sed 's/.*live_bytes=\([0-9]*\).*/\1/'
}

# The same, once two readings 0.3 s apart agree (the load's clients have all gone).
settled() { # pid errfile
  local a b; a=$(held "$1" "$2")
  for _ in $(seq 30); do sleep 0.3; b=$(held "$1" "$2"); [ "$a" = "$b" ] && break; a=$b; done
  echo "$a"
}

# Opens N idle connections, holds them until stdin closes.
cat > "$work/idle.py" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = []
for _ in range(n):
    s = socket.socket(); s.connect(("127.0.0.1", port)); conns.append(s)
print("open", flush=True)
sys.stdin.read()
PY

measure() { # name, command with {PORT} -> one line of figures
  local name=$1 cmd=$2 port pid out rss_idle rss_base alloc_base=- alloc_idle=-
  port=$(free_port)
  $pin_server ${cmd//\{PORT\}/$port} >/dev/null 2>"$work/$name.err" &
  pid=$!
  wait_port "$port"
  rss_base=$(kib $pid VmRSS)
  out=$($pin_client "$work/echoload" 127.0.0.1 "$port" -c "$n" -l 64 -t "$secs" 2>"$work/served" | tail -1)
  local served; served=$(awk '/^served/{for(i=2;i<=NF;i++){split($i,kv,"="); printf "%s ", kv[2]}}' "$work/served")
  local hwm; hwm=$(kib $pid VmHWM)
  [ "$name" = ours ] && alloc_base=$(settled $pid "$work/$name.err")
  # Idle clients: open them, read the RSS, close them.
  coproc IDLE { python3 "$work/idle.py" "$port" "$n"; }
  read -r _ <&"${IDLE[0]}"
  sleep 1
  rss_idle=$(kib $pid VmRSS)
  local anon_idle; anon_idle=$(kib $pid RssAnon)
  [ "$name" = ours ] && alloc_idle=$(settled $pid "$work/$name.err")
  eval "exec ${IDLE[1]}>&-"
  wait $IDLE_PID 2>/dev/null || true
  kill $pid; wait $pid 2>/dev/null || true
  local alive p99 p999 rate per=-
  alive=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="alive"{print $2}')
  p99=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="p99_us"{print $2}')
  p999=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="p999_us"{print $2}')
  rate=$(echo "$out" | tr ' ' '\n' | awk -F= '$1=="rate"{sub("/s","",$2); print $2}')
  [ "$name" = ours ] && per=$(( (alloc_idle - alloc_base) / n ))
  echo "$alive $rate $p99 $p999 $hwm $rss_base $rss_idle $per $served$anon_idle"
}

servers=(ours cecho tokio)
[ "${SEED:-1}" != 0 ] && servers+=(seed)
declare -A cmd=(
  [ours]="./target/release/netassist listen {PORT} --bind 127.0.0.1 --backlog 4096 --echo --quiet"
  [cecho]="$work/cecho {PORT}"
  [tokio]="./target/release/examples/tokio_echo {PORT}"
  [seed]="python3 $shared/seed_echo_mt.py {PORT}"
)
for r in $(seq "$runs"); do
  for s in "${servers[@]}"; do
    measure "$s" "${cmd[$s]}" >> "$work/$s.runs"
  done
done

# Median of column $2 of file $1 (numbers), or "-" when not a number.
median() { awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR]=$1} END{m=v[int((NR+1)/2)]; print (m==""?"-":m)}'; }
fig() { median "$work/$1.runs" "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a/b }'; }
row() { # label column [scale]
  local label=$1 c=$2 scale=${3:-1} a b s t
  a=$(fig ours "$c"); b=$(fig cecho "$c"); t=$(fig tokio "$c"); s=-
  [ -f "$work/seed.runs" ] && s=$(fig seed "$c")
  if [ "$scale" != 1 ]; then
    a=$(awk -v v="$a" -v k="$scale" 'BEGIN{printf "%.1f", v/k}'); b=$(awk -v v="$b" -v k="$scale" 'BEGIN{printf "%.1f", v/k}')
    t=$(awk -v v="$t" -v k="$scale" 'BEGIN{printf "%.1f", v/k}')
    [ "$s" != - ] && s=$(awk -v v="$s" -v k="$scale" 'BEGIN{printf "%.1f", v/k}')
  fi
  printf '%-40s %9s %9s %9s %9s %10s %10s %10s\n' "$label" "$a" "$b" "$t" "$s" "$(ratio "$a" "$b")" "$(ratio "$a" "$t")" "$(ratio "$a" "$s")"
}
echo "$n clients, $runs run(s) of ${secs}s, medians; ours built with --features count-alloc"
printf '%-40s %9s %9s %9s %9s %10s %10s %10s\n' "" ours cecho tokio seed ours/cecho ours/tokio ours/seed
row "clients alive at the end" 1
row "64-byte round trips/s" 2
row "round trip p99 (us)" 3
row "round trip p99.9 (us)" 4
row "round trips, least-served client" 9
row "... 10th-percentile client" 10
row "... median client" 11
row "peak RSS under load (MiB)" 5 1024
row "RSS with $n idle clients (MiB)" 7 1024
# RSS less the program's own code and the libraries' (file pages, shared and reclaimable).
row "... of it private (RssAnon, MiB)" 12 1024
printf '%-40s %9s\n' "allocator: bytes held per idle client" "$(fig ours 8)"
awk -v n="$n" '{print ($7 - $6) * 1024 / n}' "$work/ours.runs" | sort -g | awk '{v[NR]=$1} END{printf "%-40s %9d\n", "RSS growth per idle client (bytes)", v[int((NR+1)/2)]}'
# Fairness, as the issue states it: the least-served client against the median one.
awk '{ if ($11 > 0) printf "%-40s %9.2f\n", "ours: least-served / median client", $9 / $11 }' "$work/ours.runs" | sort -k2 -g | head -1
