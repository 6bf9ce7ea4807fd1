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

step "Node addon (node-gyp)"
npm run --silent build:native

step "SLURM plugins (cmake)"
npm run --silent build:plugins

step "contracts (solc-js)"
npm run --silent contracts:build

step "TypeScript"
npm run --silent build:ts

echo
echo "setup done: npm run devnet | npm test | npm run bench"
