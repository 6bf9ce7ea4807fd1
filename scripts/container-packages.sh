#!/usr/bin/env bash
# Fill build-deb/packages/SUITE/, what Dockerfile.slurm installs for one
# Debian release (--build-arg SUITE=...):
#   trixie    the gridlink .deb built inside a trixie container
#             (scripts/container-deb.sh trixie: build-deb/trixie/); Node.js 20
#             is Debian's own nodejs, from the mirror
#   sid       the same for sid (Node 24 from the mirror); container-deb.sh
#             also put the upstream SLURM it built there (slurm-upstream-X.Y.Z)
#   bookworm  the gridlink .deb built on this (Debian 12) host
#             (scripts/build-deb.sh: build-deb/*~deb12*.deb) and a nodejs
#             (>= 20) .deb: Debian 12 has Node 18 only
#
# Where a bookworm node image can reach a Node.js 20 repository (e.g.
# nodesource), put its nodejs .deb there instead. Here it cannot, and HTTPS
# from a container build does not pass this machine's proxy. So this script
# packs the host's own `node` binary as a minimal `nodejs` .deb (just
# /usr/bin/node: the gridlink CLI needs nothing else; the embedded runtime
# uses the libnode the gridlink .deb depends on or carries). Kept while the
# host's Node version is the same.
#
#   bash scripts/container-packages.sh [SUITE]     # default bookworm; prints the directory
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-bookworm}
die() { echo "container-packages: $*" >&2; exit 1; }
out=build-deb/packages/$suite
mkdir -p "$out"
# the layout before one directory per release
find build-deb/packages -maxdepth 1 -name '*.deb' -delete

case $suite in
  bookworm) deb=$(ls -t build-deb/gridlink_*~deb12_*.deb 2>/dev/null | head -n1 || true)
            [ -n "$deb" ] || die "no build-deb/gridlink_*~deb12_*.deb: run bash scripts/build-deb.sh first (on Debian 12)" ;;
  trixie|sid)
            deb=$(ls -t build-deb/$suite/gridlink_*.deb 2>/dev/null | head -n1 || true)
            [ -n "$deb" ] || die "no build-deb/$suite/gridlink_*.deb: run bash scripts/container-deb.sh $suite first"
            if [ "$suite" = sid ]; then
              ls "$out"/slurm-upstream-*.deb > /dev/null 2>&1 || die "no $out/slurm-upstream-*.deb: run bash scripts/container-deb.sh sid first"
            fi ;;
  *) die "unknown suite '$suite' (bookworm, trixie or sid)" ;;
esac
find "$out" -maxdepth 1 -name 'gridlink_*.deb' ! -name "$(basename "$deb")" -delete
cp -p "$deb" "$out/"

if [ "$suite" = bookworm ]; then
  node_bin=$(command -v node)
  ver=$("$node_bin" -p 'process.versions.node')
  major=${ver%%.*}
  [ "$major" -ge 20 ] || die "this host's node is $ver; the image needs >= 20"
  node_deb="$out/nodejs_${ver}-gridlink1_amd64.deb"
  if [ ! -f "$node_deb" ]; then
    find "$out" -maxdepth 1 -name 'nodejs_*.deb' -delete
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    install -D -m 0755 "$node_bin" "$stage/usr/bin/node"
    mkdir -p "$stage/DEBIAN"
    cat > "$stage/DEBIAN/control" <<CONTROL
Package: nodejs
Version: ${ver}-gridlink1
Architecture: amd64
Maintainer: gridlink developers <gridlink@localhost>
Section: javascript
Priority: optional
Depends: libc6, libstdc++6
Multi-Arch: allowed
Provides: nodejs-abi-$("$node_bin" -p 'process.versions.modules')
Description: Node.js ${ver} runtime (the node binary only)
 Packed by gridlink's scripts/container-packages.sh from the build host's
 node binary, for the slurm-in-docker image where no Node.js 20 repository
 is reachable. Not for other use: install Node.js from your usual source.
CONTROL
    dpkg-deb --root-owner-group -Zgzip -z1 --build "$stage" "$node_deb" > /dev/null
  fi
fi
echo "$out"
