#!/usr/bin/env bash
# SLURM's own NSS module, libnss_slurm.so.2 (contribs/nss_slurm), for the
# SLURM Debian installed here: Debian packages no libnss-slurm, so it is
# built from Debian's own source of the installed slurmd (apt-get source,
# configured as Debian configures it, the one file compiled and linked
# against Debian's libslurm). Upstream releases of the version matrix build
# theirs in scripts/build-slurm.sh.
#
#   bash scripts/build-nss-slurm.sh [CACHE_ROOT]
#
# Prints the directory holding libnss_slurm.so.2 (default
# /var/cache/gridlink/nss_slurm/<Debian version>); cached, idempotent, one run
# at a time (flock). An operator who wants it on Debian's SLURM runs the same
# steps (docs/nss-gridlink.md: "Nodes without the users database").
set -euo pipefail
cache=${1:-${GRIDLINK_NSS_SLURM_CACHE:-/var/cache/gridlink/nss_slurm}}
die() { echo "build-nss-slurm: $*" >&2; exit 1; }
deb_version=$(dpkg-query -W -f='${Version}' slurmd 2>/dev/null) || die "slurmd is not installed: run scripts/install-system-deps.sh (as root) first."
libslurm=$(ls /usr/lib/x86_64-linux-gnu/libslurm.so.[0-9]* 2>/dev/null | head -1)
[ -n "$libslurm" ] || die "Debian's libslurm is missing: run scripts/install-system-deps.sh (as root) first."
out=$cache/$deb_version
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/libnss_slurm.so.2" ]; then
  echo "$out"
  exit 0
fi
start=$(date +%s)
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$cache/build-$deb_version.log
echo "build-nss-slurm: building libnss_slurm.so.2 from Debian's slurm-wlm $deb_version source" >&2
{
  cd "$work"
  apt-get source -q --download-only "slurm-wlm=$deb_version"
  dpkg-source -x --skip-patches slurm-wlm_*.dsc src >/dev/null
  cd src
  # Debian's patches: the configured headers must be the installed build's
  # (config.h sizes the structures libslurm hands back)
  for p in $(grep -v '^#' debian/patches/series 2>/dev/null || true); do patch -p1 -s < "debian/patches/$p"; done
  ./configure -q --sysconfdir=/etc/slurm --enable-multiple-slurmd --disable-debug --without-rpath
  mkdir -p "$out.tmp"
  gcc -O2 -fPIC -shared -I. -o "$out.tmp/libnss_slurm.so.2" contribs/nss_slurm/libnss_slurm.c \
    -Wl,-soname,libnss_slurm.so.2 -Wl,--no-undefined "$libslurm" -lc
} >"$log" 2>&1 || { tail -30 "$log" >&2; rm -rf "$out.tmp"; die "building failed; the whole log is $log"; }
rm -rf "$out"
mv "$out.tmp" "$out"
echo "build-nss-slurm: built in $(( $(date +%s) - start )) s" >&2
echo "$out"
