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
# (default ../shared/slurm beside the checkout, as scripts/build-slurm.sh,
# or its next/), or SLURM_SOURCE=<tarball>; else the upstream tarball of
# Debian's source package, fetched by the URI `apt-get source --print-uris`
# gives and checked against its SHA256 (the .dsc itself answers 404 on this
# mirror, so `apt-get source` cannot be used).
#
# node_modules' native module (better-sqlite3) is this host's build; for a
# release whose Node has another ABI (sid: Node 24) it is rebuilt in the
# release's container, once per ABI.
#
# What takes long and does not depend on this checkout (upstream SLURM built
# in the release's container, better-sqlite3 for another Node ABI) is kept in
# $GRIDLINK_CONTAINER_CACHE (default /var/cache/gridlink/containers/SUITE/),
# under the build image's id: a clean clone reuses it, and a new build image
# (the release's packages changed) builds it again. Ids not used for 14
# days are removed.
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
read -r _ debian_ver ship_slurm upstream < <(awk -v s="$suite" '$1 == s' "$releases") || true
[ -n "${ship_slurm:-}" ] || die "no release $suite in $releases"
upstream=${upstream#upstream=}
# the SLURM the plugins are built for: the release's own, or upstream's built in its container
want_slurm=${upstream:-$ship_slurm}
for f in dist/cli/main.js dist/relay/embedded.cjs node_modules/.package-lock.json; do
  [ -e "$f" ] || die "$f is missing: run bash scripts/setup.sh first"
done
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$npm_dir/bin/npm-cli.js" ] || die "npm's directory not found (from $(command -v npm))"

base=$(bash scripts/container-base.sh "$suite")
builder=localhost/gridlink-build:$suite
slurm_packages=()
[ -z "$upstream" ] || slurm_packages=(--build-arg SLURM_PACKAGES=)
eng build --quiet -f contrib/container/build.Dockerfile --build-arg "BASE=$base" "${slurm_packages[@]}" -t "$builder" contrib/container > /dev/null \
  || die "building $builder failed (see above)"
lap "build image $builder ready"
builder_id=$(eng image inspect --format '{{.Id}}' "$builder" | sed 's/^sha256://' | cut -c1-16)
[ -n "$builder_id" ] || die "no id for $builder"
suite_cache=${GRIDLINK_CONTAINER_CACHE:-/var/cache/gridlink/containers}/$suite
cache_root=$suite_cache/$builder_id
mkdir -p "$cache_root" && touch "$cache_root"
find "$suite_cache" -mindepth 1 -maxdepth 1 -type d -mtime +14 ! -name "$builder_id" -exec rm -rf {} +

# The release's SLURM and Node, as its packages installed them.
# (An upstream release's build image has no SLURM package: the one the release would install is asked.)
read -r have_slurm node_abi < <(eng run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 "$builder" sh -c \
  'v=$(dpkg-query -W -f "\${Version}" libslurm-dev 2>/dev/null) || v=$(apt-cache show --no-all-versions slurmctld | sed -n "s/^Version: //p"); echo "$v $(node -p process.versions.modules)"') \
  || die "could not run $builder"
have_slurm=${have_slurm#*:}
have_slurm=${have_slurm%%-*}
[ "$have_slurm" = "$ship_slurm" ] \
  || die "Debian $suite now ships SLURM $have_slurm, not $ship_slurm: update $releases (and SLURM_TARBALLS) for it"
tarballs=${SLURM_TARBALLS:-$repo/../shared/slurm}
tarball=${SLURM_SOURCE:-}
if [ -z "$tarball" ]; then
  for t in "$tarballs/slurm-$want_slurm.tar.xz" "$tarballs/next/slurm-$want_slurm.tar.xz" "$repo/build-deb/$suite/source/slurm-$want_slurm.tar.xz"; do
    [ -f "$t" ] && { tarball=$t; break; }
  done
fi
[ -n "$tarball" ] || [ -z "$upstream" ] \
  || die "no slurm-$upstream.tar.xz in $tarballs or $tarballs/next: $suite's image runs upstream SLURM $upstream built from it; set SLURM_TARBALLS or SLURM_SOURCE"
if [ -z "$tarball" ]; then
  # Debian's own source of the release's SLURM: the .dsc may answer 404 on a
  # mirror (then apt-get source fails), but the upstream tarball it names is
  # fetched by its URI, checked against the SHA256 the Sources index gives,
  # and kept in build-deb/SUITE/source/ (repacked as slurm-X.Y.Z.tar.xz).
  mkdir -p "$repo/build-deb/$suite/source"
  eng run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 -v "$repo/build-deb/$suite/source:/out" "$builder" bash -euo pipefail -c '
    sed -i "s/^Types: deb$/Types: deb deb-src/" /etc/apt/sources.list.d/debian.sources
    apt-get update -qq > /dev/null
    line=$(apt-get source --print-uris -qq slurm-wlm | grep -E "\.orig\.tar\.[a-z0-9]+'"'"' " | head -n1)
    [ -n "$line" ] || { echo "no orig tarball in apt-get source --print-uris slurm-wlm" >&2; exit 1; }
    uri=$(echo "$line" | awk "{print \$1}" | tr -d "'"'"'")
    name=$(echo "$line" | awk "{print \$2}")
    sha=$(echo "$line" | awk "{print \$4}" | sed "s/^SHA256://")
    cd /tmp && python3 -c "import sys,urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" "$uri" "$name"
    echo "$sha  $name" | sha256sum -c --quiet
    # one tarball with one top directory, as cmake reads it (slurm-X.Y.Z/)
    mkdir x && tar -C x -xf "$name"
    top=$(ls x)
    [ "$(echo "$top" | wc -l)" = 1 ] || { echo "$name has more than one top directory: $top" >&2; exit 1; }
    tar -C x -cJf "/out/slurm-'"$want_slurm"'.tar.xz" "$top"
  ' >&2 || die "no SLURM $want_slurm source: none in $tarballs (or next/), and Debian's could not be fetched; set SLURM_SOURCE=<slurm-$want_slurm tarball>"
  tarball=$repo/build-deb/$suite/source/slurm-$want_slurm.tar.xz
  lap "SLURM $want_slurm source from Debian's slurm-wlm (orig tarball) in $tarball"
fi
tarball=$(readlink -f "$tarball")

# An upstream SLURM, built in the release's container into $cache_root/slurm
# (mounted at /opt/slurm: the prefix is /opt/slurm/X.Y.Z there and in the node
# image; scripts/build-slurm.sh keeps it while the tarball and options are the
# same), and packed as slurm-upstream-X.Y.Z for the node image: its daemons,
# clients and plugins, /usr/bin and /usr/sbin links to them, its etc/ pointing
# at /etc/slurm, and a cgroup.conf without cgroups (unprivileged containers).
slurm_mount=()
build_args=(-DSLURM_SOURCE=/slurm-source.tar.xz)
slurm_env=()
if [ -n "$upstream" ]; then
  cache=$cache_root/slurm
  mkdir -p "$cache"
  eng run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 -v "$repo/scripts:/scripts:ro" \
    -v "$tarball:/src/slurm-$upstream.tar.xz:ro" -v "$cache:/opt/slurm" "$builder" \
    bash /scripts/build-slurm.sh "/src/slurm-$upstream.tar.xz" /opt/slurm >&2 \
    || die "building upstream SLURM $upstream in $builder failed (its log: $cache/$upstream/build.log)"
  lap "SLURM $upstream built in $builder (/opt/slurm/$upstream)"
  pkgs=$repo/build-deb/packages/$suite
  mkdir -p "$pkgs"
  sdeb=$pkgs/slurm-upstream-${upstream}_${upstream}-1_amd64.deb
  if [ ! -f "$sdeb" ] || [ "$cache/$upstream/.gridlink-build" -nt "$sdeb" ]; then
    stage=$(mktemp -d)
    mkdir -p "$stage/opt/slurm/$upstream" "$stage/usr/bin" "$stage/usr/sbin" "$stage/etc/slurm" "$stage/DEBIAN"
    cp -a "$cache/$upstream/bin" "$cache/$upstream/sbin" "$cache/$upstream/lib" "$stage/opt/slurm/$upstream/"
    ln -s /etc/slurm "$stage/opt/slurm/$upstream/etc"
    for b in "$cache/$upstream"/bin/* "$cache/$upstream"/sbin/*; do
      d=$(basename "$(dirname "$b")")
      ln -s "/opt/slurm/$upstream/$d/$(basename "$b")" "$stage/usr/$d/$(basename "$b")"
    done
    printf 'CgroupPlugin=disabled\n' > "$stage/etc/slurm/cgroup.conf"
    cat > "$stage/DEBIAN/control" <<CONTROL
Package: slurm-upstream-$upstream
Version: $upstream-1
Architecture: amd64
Maintainer: gridlink developers <gridlink@localhost>
Section: admin
Priority: optional
Depends: munge
Conflicts: slurmctld, slurmd, slurm-client, libslurm-dev
Description: SLURM $upstream from upstream's source, for gridlink's node image
 Built by gridlink's scripts/container-deb.sh in a Debian $suite container
 (scripts/build-slurm.sh: daemons, clients and plugins under /opt/slurm/$upstream),
 where the release's own SLURM cannot be built against. Not for other use.
CONTROL
    find "$pkgs" -maxdepth 1 -name 'slurm-upstream-*.deb' -delete
    dpkg-deb --root-owner-group -Zgzip -z1 --build "$stage" "$sdeb" > /dev/null
    rm -rf "$stage"
  fi
  slurm_mount=(-v "$cache:/opt/slurm:ro")
  build_args=(-DSLURM_PREFIX=/opt/slurm/$upstream)
  slurm_env=(-e GRIDLINK_SLURM_PREFIX=/opt/slurm/$upstream)
fi

# better-sqlite3, node_modules' one native module, is compiled for this
# host's Node ABI; a release whose Node has another ABI gets its own build of
# it, made in its container (kept per ABI and version in $cache_root/native/).
host_abi=$(node -p process.versions.modules)
sqlite_mount=()
if [ "$node_abi" != "$host_abi" ]; then
  bs_ver=$(node -p 'require("./node_modules/better-sqlite3/package.json").version')
  bs=$cache_root/native/better-sqlite3-$bs_ver-abi$node_abi
  if [ ! -f "$bs/build/Release/better_sqlite3.node" ]; then
    rm -rf "$bs" "$bs.tmp" && mkdir -p "$(dirname "$bs")"
    cp -a node_modules/better-sqlite3 "$bs.tmp"
    rm -rf "$bs.tmp/build"
    eng run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 -v "$npm_dir:/opt/npm:ro" -v "$bs.tmp:/m" "$builder" bash -euo pipefail -c '
      cd /m && node /opt/npm/node_modules/node-gyp/bin/node-gyp.js rebuild --release --nodedir=/usr > /tmp/gyp.log 2>&1 || { tail -30 /tmp/gyp.log; exit 1; }
      node -e "process.dlopen({ exports: {} }, \"/m/build/Release/better_sqlite3.node\")"
    ' >&2 || die "better-sqlite3 $bs_ver did not build for $suite's Node (ABI $node_abi)"
    mv "$bs.tmp" "$bs"
    lap "better-sqlite3 $bs_ver built for Node ABI $node_abi"
  fi
  sqlite_mount=(-v "$bs:/build/node_modules/better-sqlite3:ro")
fi

out=$repo/build-deb/$suite
mkdir -p "$out"
rm -f "$out"/gridlink_*.deb
# Sources copied into the container's /build (everything but what is built
# or mounted); dist/ and node_modules/ mounted read-only where they belong.
eng run --rm --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
  -v "$repo:/src:ro" -v "$repo/dist:/build/dist:ro" -v "$repo/node_modules:/build/node_modules:ro" \
  "${sqlite_mount[@]}" "${slurm_mount[@]}" "${slurm_env[@]}" -v "$npm_dir:/opt/npm:ro" -v "$tarball:/slurm-source.tar.xz:ro" -v "$out:/out" \
  -e npm_config_nodedir=/usr -e npm_config_offline=true -e npm_config_update_notifier=false \
  "$builder" bash -euo pipefail -c '
    ln -sf /opt/npm/bin/npm-cli.js /usr/local/bin/npm
    ln -sf /opt/npm/bin/npx-cli.js /usr/local/bin/npx
    cd /src
    tar -c --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude="./build*" \
      --exclude=./prebuilds --exclude=./.libnode --exclude=./test --exclude=./bench/results . | tar -C /build -x
    cd /build
    echo "== addon (prebuildify) against $(dpkg-query -W -f "libslurm-dev \${Version}" libslurm-dev 2>/dev/null || echo "SLURM in ${GRIDLINK_SLURM_PREFIX:-?}"), Node $(node -v)"
    npm run --silent prebuildify > /tmp/prebuild.log 2>&1 || { tail -40 /tmp/prebuild.log; exit 1; }
    ls prebuilds/linux-x64/gridlink.node prebuilds/linux-x64/gridlink_slurm.so
    bash scripts/build-deb.sh "$@"
    cp build-deb/gridlink_*.deb /out/
  ' container-deb "${build_args[@]}" >&2 || die "the build in $builder failed (output above)"
deb=$(ls "$out"/gridlink_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "no .deb in $out"
case $deb in *"+slurm$want_slurm~deb$debian_ver"_amd64.deb) ;; *) die "$deb is not named for SLURM $want_slurm on Debian $debian_ver" ;; esac
lap "$(basename "$deb") built"
echo "$deb"
