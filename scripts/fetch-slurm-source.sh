#!/usr/bin/env bash
# Fetch the Debian source of the *installed* SLURM so jobcomp_provider.so can be
# compiled against slurmctld's internal headers (job_record_t is not in the
# public API). Called by CMake; prints the unpacked source dir on stdout.
#
#   scripts/fetch-slurm-source.sh DEST_DIR
#
# Fails with a message that says what to do when SLURM or apt is not usable.
set -euo pipefail
dest=${1:?usage: fetch-slurm-source.sh DEST_DIR}
mkdir -p "$dest" && dest=$(cd "$dest" && pwd)

die() { echo "fetch-slurm-source: $*" >&2; exit 1; }

version=$(dpkg-query -W -f='${Version}' slurmctld 2>/dev/null || true)
[ -n "$version" ] || version=$(dpkg-query -W -f='${Version}' libslurm-dev 2>/dev/null || true)
[ -n "$version" ] || die "SLURM is not installed: apt-get install slurmctld libslurm-dev (Debian's SLURM 22.05), then rebuild."

upstream=${version%%-*}
src="$dest/slurm-wlm-$upstream"
if [ -f "$src/.gridlink-version" ] && [ "$(cat "$src/.gridlink-version")" = "$version" ]; then
  echo "$src"; exit 0
fi

command -v dpkg-source >/dev/null || die "dpkg-source is missing: apt-get install dpkg-dev, then rebuild."

have_deb_src() { grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; }
if ! have_deb_src; then
  [ "$(id -u)" = 0 ] || die "no deb-src entry in /etc/apt and not root: add 'Types: deb-src' for bookworm (see scripts/install-system-deps.sh), then rebuild."
  sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/gridlink-deb-src.sources
  apt-get update -qq >&2
fi

mkdir -p "$dest"
cd "$dest"
rm -rf "$src"
if ! apt-get source -qq "slurm-wlm=$version" >&2; then
  apt-get update -qq >&2 || true
  apt-get source -qq "slurm-wlm=$version" >&2 || die "apt-get source slurm-wlm=$version failed: the source of the installed SLURM is not reachable; check the deb-src entry (same suite as the binary packages) and network access to Debian."
fi
[ -d "$src" ] || die "apt-get source did not produce $src"
echo "$version" > "$src/.gridlink-version"
echo "$src"
