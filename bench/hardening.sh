#!/usr/bin/env bash
# The hardening cases, with figures (run from the project root):
#
#   bench/hardening.sh            (NA=path/to/netassist for another build)
#
# 1. The UI under a flood of big reads: `listen --ui` (in tmux, 80x24) while 2 clients send
#    1 MiB chunks for SECS seconds. RSS before, peak (VmHWM) and after, beside the bound
#    the README gives: 16 MiB + log lines x the per-line bound.
# 2. A full disk: `listen --echo --output /dev/full` while 4 clients do round trips; how
#    many round trips and errors the clients saw (the server must keep serving), the
#    server's exit status and what it said.
# 3. The relay's writer queue: `relay --dump text` (stdout to a file) under a fast 256 MB
#    download; the relay's peak RSS and how long it printed after the transfer ended.
set -euo pipefail
secs=${SECS:-4}
lines=${LOG_LINES:-10000}
command -v tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux >/dev/null; }
# NA=path/to/netassist measures another build (e.g. an older one, for before/after figures).
if [ -z "${NA:-}" ]; then cargo build --release --quiet; fi
na=${NA:-$PWD/target/release/netassist}
work=$(mktemp -d)
session=netassist-hardening-$$
trap 'tmux kill-session -t $session 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }
mib() { awk -v k="$2" '$1==k":"{printf "%.1f", $2/1024}' "/proc/$1/status"; }

echo "== 1. UI flood: 2 clients x 1 MiB chunks for ${secs}s, --log-lines $lines"
port=$(free_port)
tmux new-session -d -s "$session" -x 80 -y 24 "$na listen $port --bind 127.0.0.1 --ui --log-lines $lines"
until tmux capture-pane -p -t "$session" | grep -q "listening on"; do sleep 0.05; done
ui=$(pgrep -n -f "listen $port --bind 127.0.0.1 --ui")
before=$(mib "$ui" VmRSS)
"$na" bench 127.0.0.1 "$port" --mode sink -c 2 -l 1M -d "$secs" --json > "$work/flood.json" 2>&1 || true
sent=$(tail -1 "$work/flood.json" | grep -o '"sent_bytes":[0-9]*' | cut -d: -f2)
per_line=8300
echo "  sent $((sent / 1048576)) MiB into the UI"
echo "  UI RSS before $before MiB, peak $(mib "$ui" VmHWM) MiB, after $(mib "$ui" VmRSS) MiB"
echo "  bound: 16 MiB + $lines lines x ~${per_line} B = $((16 + lines * per_line / 1048576)) MiB"
tmux kill-session -t "$session"

echo "== 2. full disk: listen --echo --output /dev/full, 4 clients for ${secs}s"
port=$(free_port)
"$na" listen "$port" --bind 127.0.0.1 --echo --quiet --output /dev/full > "$work/server.out" 2> "$work/server.err" &
server=$!
wait_port "$port"
"$na" bench 127.0.0.1 "$port" -c 4 -d "$secs" --json > "$work/disk.json" 2>&1 || true
summary=$(tail -1 "$work/disk.json")
echo "  clients: $(echo "$summary" | grep -o '"rounds":[0-9]*'), $(echo "$summary" | grep -o '"errors":[0-9]*'), $(echo "$summary" | grep -o '"mismatches":[0-9]*')"
kill -INT "$server" 2>/dev/null || true; status=0; wait "$server" || status=$?
echo "  server exit status $status; it said:"
sed 's/^/    /' "$work/server.err"
grep -h '"event":"stopped"\|^.*stopped' "$work/server.out" | sed 's/^/    /' || true

echo "== 3. relay --dump text under a fast 256 MB download (stdout to a file)"
tport=$(free_port); rport=$(free_port)
python3 - "$tport" <<'PY' &
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
def serve(c):
    # Only a client that says "go" gets the download (port probes do not).
    if c.recv(2) == b"go":
        chunk = b"x" * 65536
        for _ in range(4096): c.sendall(chunk)
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
wait_port "$tport"
"$na" relay "$rport" 127.0.0.1 "$tport" --bind 127.0.0.1 --dump text > "$work/relay.out" 2>&1 &
relay=$!
wait_port "$rport"
sleep 0.2
t0=$(date +%s%N)
python3 - "$rport" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"go")
n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
print(f"  client got {n} bytes")
PY
t1=$(date +%s%N)
peak=$(mib "$relay" VmHWM)
# How long after the transfer the output keeps growing.
last=0; same=0; t2=$t1
while [ $same -lt 5 ]; do
  size=$(stat -c %s "$work/relay.out"); if [ "$size" = "$last" ]; then same=$((same + 1)); else same=0; last=$size; t2=$(date +%s%N); fi
  sleep 0.05
done
echo "  transfer $(( (t1 - t0) / 1000000 )) ms; printed for $(( (t2 - t1) / 1000000 )) ms after it; relay peak RSS $peak MiB"
kill -INT "$relay"; wait "$relay" || true
