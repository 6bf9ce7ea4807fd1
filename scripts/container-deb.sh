#!/usr/bin/env bash
# Build the gridlink .deb for one Debian release inside a container of that
# release (contrib/container/build.Dockerfile): the C plugins, the addon
# (gridlink.node, gridlink_slurm.so) and the embedded runtime are compiled
# there against the release's own libslurm-dev, SLURM daemons and
# libnode-dev, then packed by scripts/build-deb.sh as on a machine of that
# release. What is the same everywhere comes from this checkout, mounted
# read-only: the sources, dist/ (npm run build:ts) and node_modules/ (its
# one native module, better-sqlite3, is compiled for Node's ABI, checked
# against the container's Node below). npm is this host's (pure JavaScript).
#
#   bash scripts/container-deb.sh SUITE      # trixie; prints the .deb's path
#     -> build-deb/SUITE/gridlink_<v>+slurm<SLURM>~deb<N>_amd64.deb
#
# jobcomp_provider.so needs slurmctld's internal headers, i.e. the SLURM
# source of the release's version: slurm-<version>.tar.xz in $SLURM_TARBALLS
# (default ../shared/slurm beside the checkout, as scripts/build-slurm.sh),
# or SLURM_SOURCE=<tarball>. (Debian's source package would do too, but
# `apt-get source slurm-wlm` answers 404 for its .dsc on this mirror.)
#
# contrib/container/releases (or GRIDLINK_RELEASES) names the SLURM each
# release ships: when the release's SLURM is another version (a moving
# release), this fails in one line saying so. Engine: podman (with runc), or CONTAINER_ENGINE=docker.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
suite=${1:?usage: container-deb.sh SUITE (e.g. trixie)}
engine=${CONTAINER_ENGINE:-podman}
eng() { if [ "$engine" = podman ]; then podman --runtime runc "$@"; else "$engine" "$@"; fi; }
die() { echo "container-deb: $*" >&2; exit 1; }
t0=$(date +%s)
lap() { echo "container-deb: $1 ($(( $(date +%s) - t0 )) s)" >&2; }

releases=${GRIDLINK_RELEASES:-contrib/container/releases}
read -r _ debian_ver want_slurm < <(awk -v s="$suite" '$1 == s' "$releases") || true
[ -n "${want_slurm:-}" ] || die "no release $suite in $releases"
for f in dist/cli/main.js dist/relay/embedded.cjs node_modules/.package-lock.json; do
  [ -e "$f" ] || die "$f is missing: run bash scripts/setup.sh first"
done
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$npm_dir/bin/npm-cli.js" ] || die "npm's directory not found (from $(command -v npm))"

base=$(bash scripts/container-base.sh "$suite")
builder=localhost/gridlink-build:$suite
eng build --quiet -f contrib/container/build.Dockerfile --build-arg "BASE=$base" -t "$builder" contrib/container > /dev/null \
  || die "building $builder failed (see above)"
lap "build image $builder ready"

# The release's SLURM and Node, as its packages installed them.
read -r have_slurm node_abi < <(eng run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 "$builder" sh -c \
  'dpkg-query -W -f "\${Version} " libslurm-dev; node -p process.versions.modules') \
  || die "could not run $builder"
have_slurm=${have_slurm%%-*}
[ "$have_slurm" = "$want_slurm" ] \
  || die "Debian $suite now ships SLURM $have_slurm, not $want_slurm: update $releases (and SLURM_TARBALLS) for it"
tarball=${SLURM_SOURCE:-${SLURM_TARBALLS:-$repo/../shared/slurm}/slurm-$want_slurm.tar.xz}
[ -f "$tarball" ] || die "$tarball not found: jobcomp_provider.so needs SLURM $want_slurm's source; set SLURM_TARBALLS=<dir with slurm-$want_slurm.tar.xz> or SLURM_SOURCE=<tarball>"
tarball=$(readlink -f "$tarball")
host_abi=$(node -p process.versions.modules)
[ "$node_abi" = "$host_abi" ] \
  || die "$suite's Node has ABI $node_abi, this checkout's node_modules $host_abi: better-sqlite3 would not load there (build on a host with the same Node major)"

out=$repo/build-deb/$suite
mkdir -p "$out"
rm -f "$out"/gridlink_*.deb
# Sources copied into the container's /build (everything but what is built
# or mounted); dist/ and node_modules/ mounted read-only where they belong.
eng run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
  -v "$repo:/src:ro" -v "$repo/dist:/build/dist:ro" -v "$repo/node_modules:/build/node_modules:ro" \
  -v "$npm_dir:/opt/npm:ro" -v "$tarball:/slurm-source.tar.xz:ro" -v "$out:/out" \
  -e npm_config_nodedir=/usr -e npm_config_offline=true -e npm_config_update_notifier=false \
  "$builder" bash -euo pipefail -c '
    ln -sf /opt/npm/bin/npm-cli.js /usr/local/bin/npm
    ln -sf /opt/npm/bin/npx-cli.js /usr/local/bin/npx
    cd /src
    tar -c --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude="./build*" \
      --exclude=./prebuilds --exclude=./.libnode --exclude=./test --exclude=./bench/results . | tar -C /build -x
    cd /build
    echo "== addon (prebuildify) against $(dpkg-query -W -f "libslurm-dev \${Version}" libslurm-dev), Node $(node -v)"
    npm run --silent prebuildify > /tmp/prebuild.log 2>&1 || { tail -40 /tmp/prebuild.log; exit 1; }
    ls prebuilds/linux-x64/gridlink.node prebuilds/linux-x64/gridlink_slurm.so
    bash scripts/build-deb.sh -DSLURM_SOURCE=/slurm-source.tar.xz
    cp build-deb/gridlink_*.deb /out/
  ' >&2 || die "the build in $builder failed (output above)"
deb=$(ls "$out"/gridlink_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "no .deb in $out"
case $deb in *"+slurm$want_slurm~deb$debian_ver"_amd64.deb) ;; *) die "$deb is not named for SLURM $want_slurm on Debian $debian_ver" ;; esac
lap "$(basename "$deb") built"
echo "$deb"
