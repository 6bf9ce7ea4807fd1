#!/usr/bin/env bash
# Build the Debian 12 base image of Dockerfile.slurm with debootstrap from
# Debian's mirror, for hosts that cannot pull images from a registry (this
# one: no registry is reachable). Skipped when the image exists.
#
#   bash scripts/container-base.sh [IMAGE]     # default localhost/gridlink-base:bookworm
#
# Engine: podman (with runc) by default, or CONTAINER_ENGINE=docker.
set -euo pipefail
image=${1:-localhost/gridlink-base:bookworm}
engine=${CONTAINER_ENGINE:-podman}
eng() { if [ "$engine" = podman ]; then podman --runtime runc "$@"; else "$engine" "$@"; fi; }

if eng image exists "$image" 2>/dev/null || eng image inspect "$image" > /dev/null 2>&1; then
  echo "$image"
  exit 0
fi
command -v debootstrap > /dev/null || { echo "container-base: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }

# The mirror this host's apt uses (deb822 or one-line sources), else Debian's.
mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
[ -n "$mirror" ] || mirror=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/gridlink-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "container-base: debootstrap bookworm from $mirror (about 30 s)" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# the same mirror inside, in deb822 like a stock image
rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
tar -C "$root" -c . | eng import --change 'CMD ["/bin/bash"]' - "$image" > /dev/null
echo "$image"
