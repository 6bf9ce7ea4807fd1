#!/usr/bin/env bash
# Fetch Debian 13's docker-compose (Compose v2, a static Go binary that also
# runs on Debian 12) for the container suite's Compose v2 run
# (test/containers/docker.test.ts); Debian 12 packages only the python
# docker-compose 1.29. Downloaded by apt inside the Debian 13 build image
# (scripts/container-deb.sh builds it), unpacked, cached. Prints its path.
#
#   bash scripts/container-compose-v2.sh    # -> /var/cache/gridlink/compose-v2/docker-compose
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${GRIDLINK_COMPOSE_V2_DIR:-/var/cache/gridlink/compose-v2}
bin=$dir/docker-compose
if [ -x "$bin" ] && "$bin" version > /dev/null 2>&1; then echo "$bin"; exit 0; fi
builder=localhost/gridlink-build:trixie
podman --runtime runc image exists "$builder" || { echo "container-compose-v2: no $builder: run bash scripts/container-deb.sh trixie (or prepare-tests.sh containers-trixie) first" >&2; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
podman --runtime runc run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 -v "$tmp:/out" "$builder" \
  sh -c 'cd /out && apt-get download -qq docker-compose 2>/dev/null' \
  || { echo "container-compose-v2: apt-get download docker-compose failed in $builder" >&2; exit 1; }
dpkg-deb -x "$tmp"/docker-compose_*.deb "$tmp/x"
install -m 0755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-compose" "$bin.tmp"
mv "$bin.tmp" "$bin"
"$bin" version >&2
echo "$bin"
