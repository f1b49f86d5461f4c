#!/usr/bin/env bash
# UDP echo: netassist beside socat, driven by the same client (../shared/bench/echoload.c in
# udp mode: connected UDP sockets doing datagram round trips) in one run. Ratios: ours/socat.
#
#   bench/udp_compare.sh            (run from the project root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../shared/bench" && pwd)
secs=${SECS:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
command -v socat >/dev/null || { apt-get update -qq && apt-get install -y -qq socat >/dev/null; }
gcc -O2 -o "$work/echoload" "$shared/echoload.c"
cargo build --release --quiet
pin_server=""; pin_client=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_server="taskset -c 0"; pin_client="taskset -c 1"; fi
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

p_ours=$(free_port); p_socat=$(free_port)
$pin_server ./target/release/netassist listen "$p_ours" --bind 127.0.0.1 --udp --echo --quiet >/dev/null 2>&1 &
$pin_server socat UDP-LISTEN:"$p_socat",reuseaddr,fork PIPE 2>/dev/null &
sleep 0.5

figure() { # port workload... -> "rate lost"
  $pin_client "$work/echoload" 127.0.0.1 "$@" -m udp -t "$secs" | tail -1 | tr ' ' '\n' |
    awk -F= '$1=="rate"{sub("/s","",$2); r=$2} $1=="lost"{l=$2} $1=="p99_us"{p=$2} END{print r, l, p}'
}
printf '%-26s %12s %12s %10s %14s\n' "workload (datagrams/s)" ours socat ours/socat "lost ours/socat"
for w in "-c 1 -l 64" "-c 16 -l 64" "-c 16 -l 1024" "-c 64 -l 512"; do
  read -r r1 l1 _ < <(figure "$p_ours" $w)
  read -r r2 l2 _ < <(figure "$p_socat" $w)
  printf '%-26s %12s %12s %10.2f %14s\n' "$w" "$r1" "$r2" "$(awk -v a="$r1" -v b="$r2" 'BEGIN{print (b>0)?a/b:0}')" "$l1/$l2"
done
