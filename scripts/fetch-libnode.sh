#!/usr/bin/env bash
# Unpack Debian's libnode (the embeddable Node.js runtime, Node 18) and its
# headers into DEST without installing them: libnode108 conflicts with the
# machine's `nodejs` package, which must stay. Its run-time dependencies
# (libuv1, libicu72, node-acorn, node-cjs-module-lexer, node-undici, ...) are
# ordinary packages installed by scripts/install-system-deps.sh.
#
#   scripts/fetch-libnode.sh DEST      prints DEST on success
set -euo pipefail
dest=${1:?usage: fetch-libnode.sh DEST}
mkdir -p "$dest" && dest=$(cd "$dest" && pwd)
die() { echo "fetch-libnode: $*" >&2; exit 1; }

stamp="$dest/.gridlink-libnode"
version=$(apt-cache policy libnode108 2>/dev/null | awk '/Candidate:/ {print $2}')
[ -n "$version" ] && [ "$version" != "(none)" ] || die "libnode108 is not known to apt: run apt-get update (Debian 12 has it in main)."
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -f "$dest/usr/include/node/node.h" ]; then
  echo "$dest"; exit 0
fi
command -v dpkg-deb >/dev/null || die "dpkg-deb missing"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && apt-get download -qq "libnode108=$version" "libnode-dev=$version" >&2 ) \
  || die "apt-get download libnode108 libnode-dev failed: check network access to Debian's mirror."
rm -rf "$dest/usr"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
[ -f "$dest/usr/include/node/node.h" ] || die "libnode-dev did not provide node/node.h"
echo "$version" > "$stamp"
echo "$dest"
