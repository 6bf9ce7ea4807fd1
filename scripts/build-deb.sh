#!/usr/bin/env bash
# Build the Debian package of gridlink, as an operator installs it:
#
#   /usr/lib/gridlink/{package.json,dist,prebuilds,node_modules}   the application (production dependencies)
#   /usr/bin/gridlink -> ../lib/gridlink/dist/cli/main.js
#   /usr/lib/gridlink/slurm-<SLURM version>/                        spank_provider.so, jobcomp_provider.so,
#                                                                   gridlink_runtime.so (+ libnode.so.N when
#                                                                   that libnode is not installed)
#   /lib/systemd/system/gridlink-*.service                          (not enabled)
#   /etc/gridlink/                                                  example configuration (conffiles)
#   /usr/share/doc/gridlink/                                        README, references, slurm.conf/plugstack.conf lines
#
# for the SLURM installed on this machine (Debian's packages), or the one
# named by cmake options. Needs what `bash scripts/setup.sh` built before this
# step: dist/ (npm run build:ts), prebuilds/ (the addon, its SLURM module
# built for the same SLURM), node_modules/ (npm ci, better-sqlite3 compiled).
# Offline: nothing is downloaded or compiled for the application.
#
#   bash scripts/build-deb.sh [-DSLURM_PREFIX=... -DSLURM_SOURCE=... -DLIBNODE_SO=... -DLIBNODE_INCLUDE_DIR=...]
#     -> build-deb/gridlink_<version>+slurm<SLURM version>~<release>_amd64.deb
#        e.g. gridlink_0.1.0+slurm22.05.8~deb12_amd64.deb (~deb13 on Debian 13; DEB_RELEASE=... overrides)
# Every argument is passed to cmake (docs/slurm-versions.md, CMakeLists.txt).
# Scratch space (cpack copies the whole tree once more) is build-deb/, on
# disk: /dev/shm is 64 MB in a container.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
die() { echo "build-deb: $*" >&2; exit 1; }

for a in "$@"; do
  case $a in -D*) ;; *) die "unknown argument $a: only -DNAME=VALUE options for cmake" ;; esac
done
for f in dist/cli/main.js dist/relay/embedded.cjs prebuilds node_modules/.package-lock.json; do
  [ -e "$f" ] || die "$f is missing: run bash scripts/setup.sh first"
done
for t in cmake cpack dpkg-deb dpkg-query apt-cache npm readelf; do
  command -v "$t" >/dev/null || die "$t is missing"
done

out=$repo/build-deb
stage=$out/stage/gridlink
cmake_dir=$out/cmake
rm -rf "$out/stage" "$out/_CPack_Packages" "$out"/cpack.*
rm -f "$out"/gridlink_*.deb
mkdir -p "$stage"

# ---- the application ---------------------------------------------------------
t0=$(date +%s%N); lap() { echo "   ($(( ($(date +%s%N) - t0) / 1000000 )) ms since start)"; }
echo "== staging the application in $stage"
# package.json as installed: an application, not a library. viem, the
# library's peer dependency, is the application's own dependency here;
# devDependencies are not part of it.
node -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  pkg.dependencies = { ...pkg.dependencies, ...(pkg.peerDependencies || {}) };
  delete pkg.peerDependencies;
  delete pkg.devDependencies;
  fs.writeFileSync(process.argv[1], JSON.stringify(pkg, null, 2) + "\n");
' "$stage/package.json"
cp package-lock.json "$stage/"
cp -a dist prebuilds "$stage/"
find "$stage/dist" \( -name '*.map' -o -name '*.tsbuildinfo' \) -delete

# node_modules: hard links of the checkout's (fast, same file system; npm
# prune below only unlinks), except npm's hidden lockfile, which npm rewrites.
cp -al node_modules "$stage/" 2>/dev/null || { rm -rf "$stage/node_modules"; cp -a node_modules "$stage/"; }
rm -f "$stage/node_modules/.package-lock.json"
# Production dependencies only, offline, no install script: better-sqlite3
# keeps the binary setup.sh compiled.
( cd "$stage" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error )
# and what npm's prune keeps although nothing needs it at run time (npm 9
# keeps viem's optional peer typescript)
node scripts/prune-unreachable.mjs "$stage" | sed 's/^/   pruned: /' 
# what compiling the native dependencies left besides their binaries
find "$stage/node_modules" -depth -type d \( -path '*/build/Release/obj.target' -o -path '*/build/Release/.deps' \
  -o -path '*/build/Release/obj' \) -exec rm -rf {} +
# and the dependencies' source maps (a third of the files, nothing loads them)
find "$stage/node_modules" -type f -name '*.map' -delete
find "$stage/node_modules" -type d -empty -delete
rm -f "$stage/node_modules/.package-lock.json"
node -e "new (require('$stage/node_modules/better-sqlite3'))(':memory:').prepare('select 1').get()" \
  || die "better-sqlite3 does not load from the pruned tree"
[ ! -e "$stage/node_modules/vitest" ] && [ ! -e "$stage/node_modules/typescript" ] \
  || die "devDependencies left in the pruned tree: $(ls -d "$stage"/node_modules/{vitest,typescript} 2>/dev/null | tr '\n' ' ')"

# ---- the plugins, built for this package -------------------------------------
lap
echo "== cmake ($cmake_dir), prefix /usr${*:+, $*}"
cmake -S . -B "$cmake_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DGRIDLINK_APP_DIR="$stage" "$@" >"$out/cmake.log" \
  || { cat "$out/cmake.log" >&2; die "cmake configure failed (log above)"; }
slurm_ver=$(cat "$cmake_dir/SLURM_VERSION")
IFS=. read -r s_maj s_min s_mic <<<"$slurm_ver"
s_maj=$((10#$s_maj)) s_min=$((10#$s_min)) s_mic=$((10#$s_mic))

# ---- the addon's SLURM module: the same SLURM as the plugins -----------------
slurm_addon=prebuilds/linux-x64/gridlink_slurm.so
[ -f "$slurm_addon" ] || die "$slurm_addon is missing: the addon was built without SLURM's headers; install libslurm-dev (or set GRIDLINK_SLURM_PREFIX) and run npm run prebuildify"
addon_slurm=$(node -e 'const m = { exports: {} }; process.dlopen(m, require("path").resolve(process.argv[1]), require("os").constants.dlopen.RTLD_NOW); console.log(m.exports.slurmVersion)' "$slurm_addon") \
  || die "$slurm_addon does not load here (see above): rebuild it against this SLURM (npm run prebuildify)"
[ "$addon_slurm" = "$slurm_ver" ] \
  || die "$slurm_addon was built for SLURM $addon_slurm, the plugins for $slurm_ver: rebuild the addon against the same SLURM (GRIDLINK_SLURM_PREFIX=<its prefix> npm run prebuildify)"

# ---- dependencies of the package: this SLURM and the libnode the runtime links -
# The plugins serve exactly one SLURM version: slurmctld loads a jobcomp plugin
# of its own major.minor.micro only, slurmd a SPANK plugin of its own
# major.minor (docs/slurm-versions.md).
depends="nodejs (>= 20), munge, adduser, libcdb1"
libslurm=$(ldd "$slurm_addon" | awk '/libslurm\.so/ {print $3}')
[ -n "$libslurm" ] || die "$slurm_addon does not link libslurm"
libslurm_pkg=$(dpkg-query -S "$(readlink -f "$libslurm")" 2>/dev/null | head -1 | cut -d: -f1 || true)
[ -n "$libslurm_pkg" ] || libslurm_pkg=$(dpkg-query -S "$libslurm" 2>/dev/null | head -1 | cut -d: -f1 || true)
if [ -n "$libslurm_pkg" ]; then
  depends="$depends, $libslurm_pkg (>= $slurm_ver)"
else
  echo "   $libslurm belongs to no package (a SLURM built from source): no dependency on libslurm"
fi
# The libnode gridlink_runtime.so links (CMakeLists.txt writes which): one
# copied beside the runtime brings its own dependencies; an installed one is
# the dependency itself.
if [ -f "$cmake_dir/LIBNODE" ]; then
  ln_soname=$(sed -n 's/^soname=//p' "$cmake_dir/LIBNODE")
  ln_path=$(sed -n 's/^path=//p' "$cmake_dir/LIBNODE")
  ln_source=$(sed -n 's/^source=//p' "$cmake_dir/LIBNODE")
  ln_bundled=$(sed -n 's/^bundled=//p' "$cmake_dir/LIBNODE")
  if [ "$ln_source" = fetched ]; then
    ln_pkg=$(sed -n 's/^package=//p' "$cmake_dir/LIBNODE")
    ln_ver=$(sed -n 's/^version=//p' "$cmake_dir/LIBNODE")
  else
    ln_pkg=$(dpkg-query -S "$(readlink -f "$ln_path")" 2>/dev/null | head -1 | cut -d: -f1 || true)
    ln_ver=$([ -n "$ln_pkg" ] && dpkg-query -W -f '${Version}' "$ln_pkg" || true)
  fi
  if [ "$ln_bundled" = ON ]; then
    [ -n "$ln_pkg" ] || die "$ln_path ($ln_soname, packaged beside the runtime) belongs to no Debian package: its dependencies are unknown"
    ln_deps=$(apt-cache show "$ln_pkg=$ln_ver" 2>/dev/null | sed -n 's/^Depends: //p' | head -1)
    [ -n "$ln_deps" ] || ln_deps=$(dpkg-query -W -f '${Depends}' "$ln_pkg" 2>/dev/null || true)
    [ -n "$ln_deps" ] || die "apt does not know $ln_pkg=$ln_ver, whose libraries $ln_soname needs"
    depends="$depends, $ln_deps"
    echo "   libnode: $ln_soname of $ln_pkg $ln_ver, packaged beside the runtime; its dependencies: $ln_deps"
  else
    [ -n "$ln_pkg" ] || die "$ln_path ($ln_soname) belongs to no Debian package: pass -DGRIDLINK_LIBNODE_BUNDLE=ON to package it beside the runtime"
    depends="$depends, $ln_pkg (>= $ln_ver)"
    echo "   libnode: $ln_soname of the installed $ln_pkg $ln_ver"
  fi
fi
mm=$(printf '%d.%02d' "$s_maj" "$s_min")
breaks="slurmctld (<< $slurm_ver), slurmctld (>= $mm.$((s_mic + 1))~), slurmd (<< $mm~), slurmd (>= $(printf '%d.%02d' "$s_maj" $((s_min + 1)))~)"
# (the release after YY.MM is a later YY.MM, always above YY.<MM+1>~)

# The distribution release the package is built on and for: ~deb12, ~deb13;
# a Debian without VERSION_ID (testing, sid) by its codename, e.g. ~debforky.
if [ -z "${DEB_RELEASE:-}" ]; then
  DEB_RELEASE=$(
    # shellcheck disable=SC1091
    . /etc/os-release
    case ${ID:-} in debian) id=deb ;; *) id=${ID:-linux} ;; esac
    echo "$id${VERSION_ID:-${VERSION_CODENAME:-$(cut -d/ -f1 /etc/debian_version 2>/dev/null || echo unknown)}}"
  )
fi
cmake -S . -B "$cmake_dir" -DGRIDLINK_DEB_DEPENDS="$depends" -DGRIDLINK_DEB_BREAKS="$breaks" \
  -DGRIDLINK_DEB_RELEASE="$DEB_RELEASE" >>"$out/cmake.log" || { tail -50 "$out/cmake.log" >&2; die "cmake configure failed"; }
cmake --build "$cmake_dir" -j2 >>"$out/cmake.log" || { tail -50 "$out/cmake.log" >&2; die "build failed"; }
lap
echo "== cpack -G DEB"
# cpack copies the whole tree once more before packing it: on disk, beside the
# result (a container's /dev/shm is 64 MB)
pack=$(mktemp -d -p "$out" cpack.XXXXXX)
trap 'rm -rf "$pack"' EXIT
( cd "$cmake_dir" && cpack -G DEB -B "$pack" >>"$out/cmake.log" ) || { tail -50 "$out/cmake.log" >&2; die "cpack failed"; }
mv "$pack"/gridlink_*.deb "$out/"
rm -rf "$pack" "$out/stage"
lap

version=$(node -p 'require("./package.json").version')
deb=$out/gridlink_${version}+slurm${slurm_ver}~${DEB_RELEASE}_amd64.deb
[ -f "$deb" ] || die "cpack did not make $deb"
echo "$deb"
