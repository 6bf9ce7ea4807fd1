#!/usr/bin/env bash
# All set-up on a fresh Debian 12 machine, as root: system packages, npm
# packages, the Node addon, the SLURM plugins, the contracts, the TypeScript.
# Idempotent; `npm run devnet` and `npm test` need it to have run once.
#
#   bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "system packages (apt)"
bash scripts/install-system-deps.sh

step "npm packages"
if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  echo "node_modules is up to date"
else
  npm ci --no-audit --no-fund
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

step "Node addon (node-gyp)"
npm run --silent build:native
# the prebuild the npm package ships (prebuilds/linux-x64), loaded by node-gyp-build where no compiler is
npm run --silent prebuildify

step "SLURM plugins (cmake)"
npm run --silent build:plugins

step "SLURM version matrix (upstream builds cached in /var/cache/gridlink/slurm, plugins for each)"; bash scripts/build-slurm-matrix.sh

step "contracts (solc-js)"
npm run --silent contracts:build

step "TypeScript"
npm run --silent build:ts

step ".deb package"; bash scripts/build-deb.sh

step "slurm-in-docker: base image (debootstrap, kept in podman's store) and the packages the node image installs"
bash scripts/container-base.sh
bash scripts/container-packages.sh

echo
echo "setup done: npm run devnet | npm test | npm run bench"
