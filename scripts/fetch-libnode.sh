#!/usr/bin/env bash
# Unpack Debian's libnode (the embeddable Node.js runtime) and its headers
# into DEST without installing them: the release's libnode-dev and the
# libnodeN it depends on (Debian 12: libnode108, Node 18; Debian 13:
# libnode115, Node 20). Used by CMakeLists.txt when no libnode with matching
# headers is installed: on Debian 12 libnode108 conflicts with a NodeSource
# `nodejs`, which must stay. Its run-time dependencies (libuv1, libicu, ...)
# are ordinary packages (scripts/install-system-deps.sh; the .deb depends on
# them).
#
#   scripts/fetch-libnode.sh DEST      prints DEST on success
# DEST/.gridlink-libnode holds the version, DEST/.gridlink-libnode-package the
# package name (libnode108).
set -euo pipefail
dest=${1:?usage: fetch-libnode.sh DEST}
mkdir -p "$dest" && dest=$(cd "$dest" && pwd)
die() { echo "fetch-libnode: $*" >&2; exit 1; }

stamp="$dest/.gridlink-libnode"
version=$(apt-cache policy libnode-dev 2>/dev/null | awk '/Candidate:/ {print $2}')
[ -n "$version" ] && [ "$version" != "(none)" ] || die "libnode-dev is not known to apt: run apt-get update (Debian has it in main)."
# libnode-dev depends on exactly one libnodeN of its own version
pkg=$(apt-cache show "libnode-dev=$version" | sed -n 's/^Depends: //p' | head -1 | grep -o 'libnode[0-9]\+' | head -1)
[ -n "$pkg" ] || die "libnode-dev=$version names no libnodeN in its Depends"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ "$(cat "$dest/.gridlink-libnode-package" 2>/dev/null)" = "$pkg" ] \
   && [ -f "$dest/usr/include/node/node.h" ]; then
  echo "$dest"; exit 0
fi
command -v dpkg-deb >/dev/null || die "dpkg-deb missing"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && apt-get download -qq "$pkg=$version" "libnode-dev=$version" >&2 ) \
  || die "apt-get download $pkg libnode-dev failed: check network access to Debian's mirror."
rm -rf "$dest/usr"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
[ -f "$dest/usr/include/node/node.h" ] || die "libnode-dev did not provide node/node.h"
echo "$pkg" > "$dest/.gridlink-libnode-package"
echo "$version" > "$stamp"
echo "$dest"
