#!/usr/bin/env bash
# Build one upstream SLURM release from its source tarball into a cache
# directory, for compiling the plugins against it and running its daemons in
# the tests (the version matrix, docs/slurm-versions.md).
#
#   scripts/build-slurm.sh TARBALL|VERSION [CACHE_ROOT]
#   scripts/build-slurm.sh --all [CACHE_ROOT]     every tarball in SLURM_TARBALLS
#
# VERSION (e.g. 24.11.5) is looked up as slurm-VERSION.tar.xz in
# $SLURM_TARBALLS (default: ../shared/slurm beside the checkout). The tarball
# is read where it is, never copied. The result is CACHE_ROOT/VERSION (default
# /var/cache/gridlink/slurm/VERSION), the install prefix of that build:
# sbin/slurmctld, bin/sbatch, lib/slurm/*.so, include/slurm/slurm_version.h,
# plus src/ (the configured tree's headers and config.h, for slurmctld's
# internal headers) and .gridlink-build, the tarball's sha256 and the
# configure options. Idempotent: a prefix built from the same tarball with the
# same options is kept as is; a build that did not finish is redone. Two runs
# for one version wait for each other (flock).
# Prints the prefix on stdout; progress goes to stderr and to build.log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tarballs=${SLURM_TARBALLS:-$here/../shared/slurm}
die() { echo "build-slurm: $*" >&2; exit 1; }

arg=${1:?usage: build-slurm.sh TARBALL|VERSION|--all [CACHE_ROOT]}
cache=${2:-${GRIDLINK_SLURM_CACHE:-/var/cache/gridlink/slurm}}

if [ "$arg" = --all ]; then
  shopt -s nullglob
  found=0
  for t in "$tarballs"/slurm-*.tar.xz; do
    found=1
    "$0" "$t" "$cache"
  done
  [ "$found" = 1 ] || echo "build-slurm: no slurm-*.tar.xz in $tarballs: nothing to build (the matrix tests skip)" >&2
  exit 0
fi

if [ -f "$arg" ]; then tarball=$(cd "$(dirname "$arg")" && pwd)/$(basename "$arg")
else tarball=$tarballs/slurm-$arg.tar.xz; fi
[ -f "$tarball" ] || die "$tarball not found: pass a SLURM source tarball (slurm-X.Y.Z.tar.xz) or set SLURM_TARBALLS to the directory holding it."
version=$(basename "$tarball" | sed -nE 's/^slurm-([0-9]+\.[0-9]+\.[0-9]+)\.tar\.(xz|bz2|gz)$/\1/p')
[ -n "$version" ] || die "$tarball: expected a name slurm-X.Y.Z.tar.xz"

prefix=$cache/$version
# Like Debian's build: several slurmd on one host (the multi-node tests), the
# host's munged; no cgroup (CgroupPlugin=disabled), no debug symbols.
configure_opts=(--prefix="$prefix" --sysconfdir="$prefix/etc" --localstatedir=/var
  --enable-multiple-slurmd --disable-debug --enable-silent-rules)
# Only what the tests run is built (GRIDLINK_SLURM_FULL=1 builds everything):
# the daemons, libslurm, the clients the harness calls, and the plugin types
# a test cluster loads. Not built: the docs and testsuite, slurmdbd, slurmrestd, sacctmgr and the
# other clients no test runs, and the plugin types whose "none" is built into
# SLURM (accounting, energy, profiles, burst buffers, job_submit, ...),
# data_parser first (a quarter of all plugin code). certgen stays: 25.11's
# clients (scontrol ping) load certgen/script at start and stop without it. -O0: compiling, not
# running fast, is what costs here. Measured on 25.11.7 (2 cores): see
# docs/slurm-versions.md.
SKIP_PROGRAMS=(sacct sacctmgr sackd sattach sbcast scrontab sdiag slurmdbd slurmrestd sprio sreport sshare sstat strigger sview)
SKIP_PLUGIN_TYPES=(data_parser openapi accounting_storage acct_gather_energy acct_gather_profile acct_gather_interconnect
  acct_gather_filesystem burst_buffer jobacct_gather cli_filter job_submit node_features site_factor mcs metrics
  namespace certmgr job_container core_spec ext_sensors power)
if [ "${GRIDLINK_SLURM_FULL:-0}" = 1 ]; then profile=full; cflags="-O2"
else profile="minimal:${SKIP_PROGRAMS[*]}:${SKIP_PLUGIN_TYPES[*]}"; cflags="-O0 -g0"; fi
key="$(sha256sum "$tarball" | cut -d' ' -f1) ${configure_opts[*]} CFLAGS=$cflags $profile +nss_slurm"

# Drop the words $@ from the SUBDIRS list of an automake-generated Makefile.
skip_subdirs() {
  local mk=$1; shift
  local w
  for w in "$@"; do
    # inside the (backslash-continued) SUBDIRS = ... assignment only
    sed -i -E "/^SUBDIRS *=/,/[^\\]$/ s/(^|[[:space:]])$w([[:space:]]|\\|$)/\1\2/g" "$mk"
  done
}
mkdir -p "$cache"
exec 9>"$cache/.$version.lock"
flock 9
if [ -f "$prefix/.gridlink-build" ] && [ "$(cat "$prefix/.gridlink-build")" = "$key" ] &&
   [ -x "$prefix/sbin/slurmctld" ] && [ -f "$prefix/include/slurm/slurm_version.h" ]; then
  echo "build-slurm: SLURM $version is cached in $prefix" >&2
  echo "$prefix"; exit 0
fi

for p in libmunge-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    die "$p is missing: run scripts/install-system-deps.sh (as root), then this again."
done

start=$(date +%s)
echo "build-slurm: building SLURM $version (${profile%%:*}) from $tarball into $prefix (a few minutes on 2 cores)" >&2
rm -rf "$prefix"
mkdir -p "$prefix"
log=$prefix/build.log
{
  tar -C "$prefix" -xf "$tarball"
  top=$(tar -tf "$tarball" | head -1 | cut -d/ -f1)
  mv "$prefix/$top" "$prefix/src"
  cd "$prefix/src"
  CFLAGS="$cflags" ./configure -q "${configure_opts[@]}"
  if [ "$profile" != full ]; then
    skip_subdirs Makefile testsuite doc
    skip_subdirs src/Makefile "${SKIP_PROGRAMS[@]}"
    skip_subdirs src/plugins/Makefile "${SKIP_PLUGIN_TYPES[@]}"
  fi
  make -j"$(nproc)" -s
  make -s install
  # SLURM's own NSS module (contribs/nss_slurm, which `make` leaves out):
  # lib/libnss_slurm.so.2, for measuring which hosts need gridlink's users
  # database when LaunchParameters=enable_nss_slurm serves the job steps
  # (test/userdb/nss-slurm.test.ts, docs/nss-gridlink.md)
  make -C contribs/nss_slurm -s
  make -C contribs/nss_slurm -s install
  find "$prefix/lib" \( -name '*.a' -o -name '*.la' \) -delete
  # Keep the headers slurmctld's plugins include (src/**/*.h, config.h, the
  # generated slurm_version.h); drop objects and the sources themselves.
  find . -type f ! -name '*.h' ! -name 'config.h' -delete
  find . -type d -empty -delete
} >"$log" 2>&1 || { tail -30 "$log" >&2; die "building SLURM $version failed; the whole log is $log"; }
echo "$key" > "$prefix/.gridlink-build"
echo "build-slurm: SLURM $version built in $(( $(date +%s) - start )) s" >&2
echo "$prefix"
