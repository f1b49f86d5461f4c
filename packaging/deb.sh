#!/usr/bin/env bash
# Builds the .deb (cargo-deb) with the man pages and the bash/zsh/fish completions, then
# checks the package as a user would get it: unpacked into a scratch root with dpkg -x,
# its netassist runs, man reads its pages, bash parses its completion script.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
cargo build --release --locked
bin=target/release/netassist
rm -rf target/assets
mkdir -p target/assets/man target/assets/completions
# The pages and scripts in English, whatever this machine's locale.
export NETASSIST_LANG=en
"$bin" manpage --dir target/assets/man >/dev/null
"$bin" completions bash >target/assets/completions/netassist.bash
"$bin" completions zsh >target/assets/completions/_netassist
"$bin" completions fish >target/assets/completions/netassist.fish

cargo deb --no-build
deb=$(ls -t target/debian/netassist_*.deb | head -n 1)
echo "built $deb ($(du -h "$deb" | cut -f1))"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
"$root/usr/bin/netassist" --version
page=$(ls "$root"/usr/share/man/man1/netassist-listen.1*)
MANPAGER=cat man -l "$page" | head -n 6
bash -n "$root/usr/share/bash-completion/completions/netassist"
echo "the package's man pages: $(ls "$root/usr/share/man/man1" | wc -l), completions: bash zsh fish"
echo "package ok"
