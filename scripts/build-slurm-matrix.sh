#!/usr/bin/env bash
# The SLURM version matrix for the tests (docs/slurm-versions.md): every
# upstream tarball in $SLURM_TARBALLS (default ../shared/slurm) built once into
# /var/cache/gridlink/slurm/<version> (scripts/build-slurm.sh, cached by the
# tarball's sha256: a warm run rebuilds nothing), and the plugins compiled for
# each into build-plugins/slurm-<version>/ (incremental). Debian's own SLURM
# is the default build, build-plugins/ (npm run build:plugins).
#
# The matrix plugins are built without the embedded runtime
# (-DGRIDLINK_RUNTIME=OFF), as on a host where no libnode fits: the tests run
# the standalone relay (`gridlink relay`) beside them.
#
#   bash scripts/build-slurm-matrix.sh [VERSION...]     # default: every tarball
#
# Not part of scripts/setup.sh: the tests build it (scripts/prepare-tests.sh).
# Each release is locked while it is built (two callers wait for each other).
set -euo pipefail
cd "$(dirname "$0")/.."
tarballs=${SLURM_TARBALLS:-$PWD/../shared/slurm}
cache=${GRIDLINK_SLURM_CACHE:-/var/cache/gridlink/slurm}

shopt -s nullglob
if [ $# -gt 0 ]; then
  versions=("$@"); set --
  for v in "${versions[@]}"; do
    [ -f "$tarballs/slurm-$v.tar.xz" ] || { echo "build-slurm-matrix: no slurm-$v.tar.xz in $tarballs" >&2; exit 1; }
    set -- "$@" "$tarballs/slurm-$v.tar.xz"
  done
else
  set -- "$tarballs"/slurm-*.tar.xz
fi
if [ $# -eq 0 ]; then
  echo "build-slurm-matrix: no slurm-*.tar.xz in $tarballs: only Debian's SLURM is built and tested"
  exit 0
fi
mkdir -p build-plugins
for t in "$@"; do
  t0=$(date +%s)
  prefix=$(bash scripts/build-slurm.sh "$t" "$cache")
  version=$(basename "$prefix")
  out=build-plugins/slurm-$version
  exec 8>"$out.lock"
  flock 8
  cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLURM_PREFIX="$prefix" -DGRIDLINK_RUNTIME=OFF >"$out.cmake.log" 2>&1 ||
    { cat "$out.cmake.log" >&2; echo "build-slurm-matrix: configuring the plugins for SLURM $version failed (above)" >&2; exit 1; }
  cmake --build "$out" -j"$(nproc)" >>"$out.cmake.log" 2>&1 ||
    { tail -40 "$out.cmake.log" >&2; echo "build-slurm-matrix: building the plugins for SLURM $version failed (above; whole log $out.cmake.log)" >&2; exit 1; }
  exec 8>&-
  echo "SLURM $version: $prefix, plugins in $out ($(( $(date +%s) - t0 )) s)"
done
