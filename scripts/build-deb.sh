#!/usr/bin/env bash
# Build the Debian package of gridlink, as an operator installs it:
#
#   /usr/lib/gridlink/{package.json,dist,prebuilds,node_modules}   the application (production dependencies)
#   /usr/bin/gridlink -> ../lib/gridlink/dist/cli/main.js
#   /usr/lib/gridlink/slurm-<SLURM version>/                        spank_provider.so, jobcomp_provider.so,
#                                                                   gridlink_runtime.so, libnode.so.108
#   /lib/systemd/system/gridlink-*.service                          (not enabled)
#   /etc/gridlink/                                                  example configuration (conffiles)
#   /usr/share/doc/gridlink/                                        README, references, slurm.conf/plugstack.conf lines
#
# for the SLURM installed on this machine (Debian's packages). Needs what
# `bash scripts/setup.sh` built before this step: dist/ (npm run build:ts),
# prebuilds/ (the addon), node_modules/ (npm ci, better-sqlite3 compiled).
# Offline: nothing is downloaded or compiled for the application.
#
#   bash scripts/build-deb.sh      -> build-deb/gridlink_<version>+slurm<SLURM version>_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
die() { echo "build-deb: $*" >&2; exit 1; }

for f in dist/cli/main.js dist/relay/embedded.cjs prebuilds node_modules/.package-lock.json; do
  [ -e "$f" ] || die "$f is missing: run bash scripts/setup.sh first"
done
for t in cmake cpack dpkg-deb dpkg-query apt-cache npm; do
  command -v "$t" >/dev/null || die "$t is missing"
done

out=$repo/build-deb
stage=$out/stage/gridlink
cmake_dir=$out/cmake
rm -rf "$out/stage" "$out/_CPack_Packages"
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
# what compiling the native dependencies left besides their binaries
find "$stage/node_modules" -depth -type d \( -path '*/build/Release/obj.target' -o -path '*/build/Release/.deps' \
  -o -path '*/build/Release/obj' \) -exec rm -rf {} +
# and the dependencies' source maps (a third of the files, nothing loads them)
find "$stage/node_modules" -type f -name '*.map' -delete
find "$stage/node_modules" -type d -empty -delete
rm -f "$stage/node_modules/.package-lock.json"
node -e "new (require('$stage/node_modules/better-sqlite3'))(':memory:').prepare('select 1').get()" \
  || die "better-sqlite3 does not load from the pruned tree"
[ ! -e "$stage/node_modules/vitest" ] && [ ! -e "$stage/node_modules/typescript" ] || die "devDependencies left in the pruned tree"

# ---- dependencies of the package: this machine's SLURM and libnode packages ---
# The plugins serve exactly one SLURM version: slurmctld loads a jobcomp plugin
# of its own major.minor.micro only, slurmd a SPANK plugin of its own
# major.minor (docs/slurm-versions.md).
hex=$(awk '/#define SLURM_VERSION_NUMBER/ {print $3}' /usr/include/slurm/slurm_version.h 2>/dev/null || true)
[ -n "$hex" ] || die "no /usr/include/slurm/slurm_version.h: install libslurm-dev (scripts/install-system-deps.sh)"
s_maj=$(( (hex >> 16) & 255 )) s_min=$(( (hex >> 8) & 255 )) s_mic=$(( hex & 255 ))
slurm_ver=$(printf '%d.%02d.%d' "$s_maj" "$s_min" "$s_mic")
addon=prebuilds/linux-x64/gridlink.node
libslurm=$(ldd "$addon" | awk '/libslurm\.so/ {print $3}')
[ -n "$libslurm" ] || die "$addon does not link libslurm"
libslurm_pkg=$(dpkg-query -S "$(readlink -f "$libslurm")" 2>/dev/null | head -1 | cut -d: -f1)
[ -n "$libslurm_pkg" ] || libslurm_pkg=$(dpkg-query -S "$libslurm" | head -1 | cut -d: -f1)
# libnode108 is unpacked beside the plugins, not installed (it conflicts with
# nodejs): its own dependencies are the package's.
libnode_ver=$(cat .libnode/.gridlink-libnode 2>/dev/null || apt-cache policy libnode108 | awk '/Candidate:/ {print $2}')
libnode_deps=$(apt-cache show "libnode108=$libnode_ver" | sed -n 's/^Depends: //p' | head -1)
[ -n "$libnode_deps" ] || die "apt-cache does not know libnode108=$libnode_ver"
depends="nodejs (>= 20), munge, adduser, $libslurm_pkg (>= $slurm_ver), $libnode_deps"
mm=$(printf '%d.%02d' "$s_maj" "$s_min")
breaks="slurmctld (<< $slurm_ver), slurmctld (>= $mm.$((s_mic + 1))~), slurmd (<< $mm~), slurmd (>= $(printf '%d.%02d' "$s_maj" $((s_min + 1)))~)"
# (the release after YY.MM is a later YY.MM, always above YY.<MM+1>~)

# ---- the plugins, built for this package, and the .deb -----------------------
lap
echo "== cmake ($cmake_dir): SLURM $slurm_ver, prefix /usr"
cmake -S . -B "$cmake_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DGRIDLINK_APP_DIR="$stage" -DGRIDLINK_DEB_DEPENDS="$depends" -DGRIDLINK_DEB_BREAKS="$breaks" >"$out/cmake.log" \
  || { cat "$out/cmake.log" >&2; die "cmake configure failed (log above)"; }
[ "$(cat "$cmake_dir/SLURM_VERSION")" = "$slurm_ver" ] || die "cmake built for SLURM $(cat "$cmake_dir/SLURM_VERSION"), the installed headers say $slurm_ver"
cmake --build "$cmake_dir" -j2 >>"$out/cmake.log" || { tail -50 "$out/cmake.log" >&2; die "build failed"; }
lap
echo "== cpack -G DEB"
# cpack copies the whole tree once more before packing it: on tmpfs when there is one
pack=$(mktemp -d -p "$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo "$out" )" gridlink-cpack.XXXXXX)
trap 'rm -rf "$pack"' EXIT
( cd "$cmake_dir" && cpack -G DEB -B "$pack" >>"$out/cmake.log" ) || { tail -50 "$out/cmake.log" >&2; die "cpack failed"; }
mv "$pack"/gridlink_*.deb "$out/"
rm -rf "$pack" "$out/stage"
lap

version=$(node -p 'require("./package.json").version')
deb=$out/gridlink_${version}+slurm${slurm_ver}_amd64.deb
[ -f "$deb" ] || die "cpack did not make $deb"
echo "$deb"
