#!/usr/bin/env bash
# Build the Debian base image of Dockerfile.slurm for one release with
# debootstrap from this host's Debian mirror, for hosts that cannot pull
# images from a registry (this one: no registry is reachable). Prints the
# image's name.
#
#   bash scripts/container-base.sh [SUITE] [IMAGE]
#     SUITE  bookworm (Debian 12, default), trixie (Debian 13) or sid
#            (unstable: SLURM 26.05; its Release file may be past its
#            Valid-Until on a mirror snapshot, so the image's apt is told
#            Acquire::Check-Valid-Until=false)
#     IMAGE  default localhost/gridlink-base:SUITE
#
# Cache: the image is kept by the engine and, once built, saved to
# $GRIDLINK_IMAGE_CACHE/gridlink-base-SUITE.tar (default
# /var/cache/gridlink/images): an engine without the image loads it from
# there in seconds instead of running debootstrap again (~30 s for bookworm,
# ~150 s for trixie here).
#
# Engine: podman (with runc) by default, or CONTAINER_ENGINE=docker.
set -euo pipefail
suite=${1:-bookworm}
image=${2:-localhost/gridlink-base:$suite}
engine=${CONTAINER_ENGINE:-podman}
cache=${GRIDLINK_IMAGE_CACHE:-/var/cache/gridlink/images}
saved=$cache/gridlink-base-$suite.tar
eng() { if [ "$engine" = podman ]; then podman --runtime runc "$@"; else "$engine" "$@"; fi; }
exists() { eng image inspect "$image" > /dev/null 2>&1; }

case $suite in
  bookworm|trixie|sid) ;;
  *) echo "container-base: unknown suite '$suite' (bookworm, trixie or sid)" >&2; exit 2 ;;
esac

if exists; then
  echo "$image"
  exit 0
fi
if [ -s "$saved" ]; then
  t0=$(date +%s)
  eng load -i "$saved" > /dev/null
  exists || { echo "container-base: $saved did not hold $image: remove it and run again" >&2; exit 1; }
  echo "container-base: $image loaded from $saved ($(( $(date +%s) - t0 )) s)" >&2
  echo "$image"
  exit 0
fi
command -v debootstrap > /dev/null || { echo "container-base: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
[ -e "/usr/share/debootstrap/scripts/$suite" ] || { echo "container-base: this debootstrap does not know $suite: apt-get install -t bookworm-backports debootstrap, or a newer debootstrap" >&2; exit 1; }

# The mirror this host's apt uses (deb822 or one-line sources), else Debian's.
mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
[ -n "$mirror" ] || mirror=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/gridlink-base.XXXXXX)
trap 'rm -rf "$root" "$root.log"' EXIT
t0=$(date +%s)
echo "container-base: debootstrap $suite from $mirror (bookworm ~30 s, trixie ~150 s)" >&2
debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
# the same mirror inside, in deb822 like a stock image
rm -f "$root/etc/apt/sources.list"
updates=" $suite-updates"
[ "$suite" = sid ] && updates=""   # unstable has no -updates
cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite$updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
[ "$suite" = sid ] && echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99gridlink-valid-until"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
tar -C "$root" -c . | eng import --change 'CMD ["/bin/bash"]' - "$image" > /dev/null
echo "container-base: $image built in $(( $(date +%s) - t0 )) s" >&2
if mkdir -p "$cache" 2>/dev/null; then
  eng save -o "$saved.tmp" "$image" > /dev/null && mv "$saved.tmp" "$saved" || rm -f "$saved.tmp"
fi
echo "$image"
