#!/usr/bin/env bash
# All set-up on a fresh Debian 12 machine, as root: system packages, npm
# packages, the Node addon, the SLURM plugins, the contracts, the TypeScript.
# Idempotent; `npm run devnet` and `npm test` need it to have run once.
#
#   bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints its time; the whole takes about 5 minutes on a fresh
# 2-core machine (npm ci's native compiles are most of it). What only the
# tests need (the .deb, the SLURM version matrix, the container images) is
# built by `npm test` itself, in the background as the tests start
# (scripts/prepare-tests.sh), so nothing here waits for it.
setup_t0=$(date +%s)
step_t0=$setup_t0
step_name=
step_done() { [ -z "$step_name" ] || printf '   (%s: %d s)\n' "$step_name" $(( $(date +%s) - step_t0 )); }
step() { step_done; step_name=$*; step_t0=$(date +%s); printf '\n== %s\n' "$*"; }

step "system packages (apt)"
bash scripts/install-system-deps.sh

step "npm packages"
# npm ci compiles better-sqlite3, cpu-features and ssh2's binding from source
# (no prebuilt binary can be downloaded here): about 2 minutes on 2 cores. A
# fresh checkout takes node_modules from /var/cache/gridlink/npm instead,
# keyed by package-lock.json and the Node version, when an earlier setup
# saved one (2 s); the newest 2 are kept.
npm_cache=/var/cache/gridlink/npm
npm_key=$( { cat package-lock.json; node -p 'process.version + " " + process.arch + " " + process.versions.modules'; } | sha256sum | cut -c1-16)
npm_tar="$npm_cache/node_modules-$npm_key.tar.zst"
if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  echo "node_modules is up to date"
elif [ ! -e node_modules ] && [ -f "$npm_tar" ] && zstd -dc "$npm_tar" | tar -xf -; then
  touch node_modules/.package-lock.json
  echo "node_modules restored from $npm_tar"
else
  rm -rf node_modules
  npm ci --no-audit --no-fund
  mkdir -p "$npm_cache"
  tmp=$(mktemp "$npm_cache/.node_modules.XXXXXX")
  if tar -cf - node_modules | zstd -1 -T0 -q -f -o "$tmp"; then
    mv -f "$tmp" "$npm_tar"
    ls -t "$npm_cache"/node_modules-*.tar.zst | tail -n +3 | xargs -r rm -f
    echo "node_modules saved to $npm_tar"
  else
    rm -f "$tmp"
  fi
fi

step "better-sqlite3 (the state database)"
# No prebuilt binary can be downloaded here (only the npm registry is
# reachable): npm ci compiles it with node-gyp against /usr/include/node. A
# node_modules built for another Node keeps a binary of the wrong ABI:
# rebuild it from source then.
sqlite_ok() { node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()" 2>/dev/null; }
if ! sqlite_ok; then
  echo "better-sqlite3 does not load: building it from source"
  npm rebuild better-sqlite3 --build-from-source
  sqlite_ok || { echo "setup: better-sqlite3 still does not load; check that build-essential and python3 are installed (scripts/install-system-deps.sh)" >&2; exit 1; }
fi
echo "better-sqlite3 loads"

step "Node addon (node-gyp, as the prebuild the npm package ships)"
# prebuildify compiles it (node-gyp) into prebuilds/linux-x64, which
# node-gyp-build loads here too; `npm run build:native` (build/Release) is
# for development only and would be a second compile
npm run --silent prebuildify

step "SLURM plugins (cmake)"
npm run --silent build:plugins

step "contracts (solc-js)"
npm run --silent contracts:build

step "TypeScript"
npm run --silent build:ts

step_done
echo
echo "setup done in $(( $(date +%s) - setup_t0 )) s: npm run devnet | npm test | npm run bench"
