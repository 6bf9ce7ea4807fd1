#!/usr/bin/env bash
# What only the tests need, kept out of scripts/setup.sh so that setup (and
# so `npm run devnet`) never waits for it:
#   docker       Debian's docker.io and docker-compose (the Docker engine suite)
#   deb          the .deb of this tree (scripts/build-deb.sh), once per test run
#   containers   the slurm-in-docker base image and the packages its node
#                image installs (scripts/container-base.sh, container-packages.sh)
#   containers-trixie  the same for Debian 13, its .deb built in a trixie
#                container (scripts/container-deb.sh), once per test run
#   containers-sid  the same for sid (SLURM 26.05: upstream 26.05.3 built in
#                a sid container, cached; the .deb once per test run)
#   slurm        the SLURM version matrix (scripts/build-slurm-matrix.sh:
#                upstream releases built once into /var/cache/gridlink/slurm)
#   slurm-X.Y.Z  one release of it
#   nss-slurm    SLURM's nss_slurm for Debian's SLURM (scripts/build-nss-slurm.sh,
#                cached in /var/cache/gridlink/nss_slurm)
#
#   bash scripts/prepare-tests.sh [all|deb|containers|containers-trixie|containers-sid|slurm|slurm-X.Y.Z|nss-slurm]...
#
# `npm test` (scripts/run-tests.mjs) starts `prepare-tests.sh all` in the
# background, at low CPU priority, as the tests start; a test that needs one
# of these calls this script for just that piece (test/helpers/prepare.ts),
# which waits for the background run's piece (one lock per piece) or builds
# it. Each piece is idempotent: the SLURM builds and the base image are
# cached across runs. A .deb is what the tests check, so it is built from
# this very tree: in a checkout where nothing differs from HEAD (a clean
# clone, CI) it is kept in $GRIDLINK_DEB_CACHE (/var/cache/gridlink/debs)
# under the hash of the packaged part of the tree and what it was built against (SLURM, libnode, Node,
# the release's image), and reused while they are the same; in a changed
# checkout it is built once per test run (GRIDLINK_TEST_RUN, set by
# run-tests.mjs). Every piece's time goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
state=build-tests
mkdir -p "$state"
run=${GRIDLINK_TEST_RUN:-}

timed() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  # (called from `||` lists, where set -e does not stop a failure)
  "$@" || return $?
  echo "prepare-tests: $name ready ($(( $(date +%s) - t0 )) s)" >&2
}

# Runs "$@" with its output in the file $1 (the caller's `timed` line stays on stderr).
logged() {
  local log=$1; shift
  "$@" > "$log" 2>&1
}

# One piece under its own lock: a second caller waits for the first.
piece() {
  local name=$1; shift
  local fd
  exec {fd}>"$state/$name.lock"
  flock "$fd"
  "$@"
  exec {fd}>&-
}

deb_cache=${GRIDLINK_DEB_CACHE:-/var/cache/gridlink/debs}

# The cache key of a .deb built from this checkout against "$@" (what it was
# built with from outside the tree): HEAD's files but the tests, benchmarks,
# harnesses and CI script (nothing of them is packaged), or nothing when the
# checkout differs from HEAD (tracked changes or files neither tracked nor
# ignored).
deb_key() {
  local tree
  [ -z "$(git status --porcelain 2>/dev/null)" ] &&
    tree=$(git ls-tree -r HEAD 2>/dev/null | grep -vE $'\t(test|bench|harness|\.ci)/' | sha256sum) || return 0
  printf '%s\n' "$tree" "$@" | sha256sum | cut -c1-24
}

# deb_restore KEY: copies the files kept under KEY into build-deb/ (1: none kept).
deb_restore() {
  [ -n "$1" ] && [ -f "$deb_cache/$1/.complete" ] || return 1
  (cd "$deb_cache/$1" && find . -type f ! -name .complete -exec cp --parents -p {} "$OLDPWD/build-deb/" \;)
  touch "$deb_cache/$1"
}

# deb_store KEY PATH...: keeps build-deb/PATH... under KEY (paths relative to build-deb/).
# Entries not used for 14 days are removed.
deb_store() {
  local key=$1; shift
  [ -n "$key" ] || return 0
  mkdir -p "$deb_cache"
  local tmp; tmp=$(mktemp -d "$deb_cache/.new.XXXXXX")
  (cd build-deb && cp --parents -p "$@" "$tmp/") && touch "$tmp/.complete" &&
    { rm -rf "${deb_cache:?}/$key"; mv "$tmp" "$deb_cache/$key"; } || { rm -rf "$tmp"; return 0; }
  find "$deb_cache" -mindepth 1 -maxdepth 1 -mtime +14 -exec rm -rf {} +
}

deb() {
  local stamp=$state/deb.run
  if ls build-deb/gridlink_*.deb >/dev/null 2>&1 && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${run:-manual}" ]; then
    return 0
  fi
  local t0; t0=$(date +%s)
  local key; key=$(deb_key host "$(dpkg-query -W libslurm-dev slurmctld slurmd munge 2>/dev/null)" "$(node -v)" "$(cat .libnode/.gridlink-libnode 2>/dev/null)")
  mkdir -p build-deb
  rm -f build-deb/gridlink_*.deb
  if deb_restore "$key"; then
    echo "${run:-manual}" > "$stamp"
    echo "prepare-tests: deb ready: $(ls build-deb/gridlink_*.deb), kept from an earlier run of this tree ($(( $(date +%s) - t0 )) s)"
    return 0
  fi
  bash scripts/build-deb.sh > "$state/deb.log" 2>&1 ||
    { tail -n 30 "$state/deb.log" >&2; echo "prepare-tests: building the .deb failed (whole log: $state/deb.log)" >&2; return 1; }
  local made; made=$(cd build-deb && ls gridlink_*.deb)
  deb_store "$key" $made cmake/LIBNODE
  echo "${run:-manual}" > "$stamp"
  echo "prepare-tests: deb ready: $(ls build-deb/gridlink_*.deb) ($(( $(date +%s) - t0 )) s)"
}

containers() {
  piece deb deb
  timed 'container base image' bash scripts/container-base.sh >/dev/null
  timed 'container packages' bash scripts/container-packages.sh >/dev/null
}

# Debian 13's (trixie) and sid's: the .deb is built in a container of the
# release, once per test run; sid's upstream SLURM 26.05 (built in a sid
# container by container-deb.sh) and its build images are cached.
containers_release() {
  local suite=$1
  local stamp=$state/containers-$suite.run
  # a release built on upstream SLURM (sid) needs its tarball; without it its test skips, saying so
  local upstream; upstream=$(awk -v s="$suite" '$1 == s { sub(/^upstream=/, "", $4); print $4 }' contrib/container/releases)
  local tarballs=${SLURM_TARBALLS:-../shared/slurm}
  if [ -n "$upstream" ] && [ ! -f "$tarballs/slurm-$upstream.tar.xz" ] && [ ! -f "$tarballs/next/slurm-$upstream.tar.xz" ]; then
    echo "prepare-tests: no slurm-$upstream.tar.xz in $tarballs or its next/: the $suite image is not built" >&2
    return 0
  fi
  local t0 base; t0=$(date +%s)
  base=$(bash scripts/container-base.sh "$suite")
  echo "prepare-tests: container base image ($suite) ready ($(( $(date +%s) - t0 )) s)" >&2
  if ! { ls build-deb/"$suite"/gridlink_*.deb >/dev/null 2>&1 && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${run:-manual}" ]; }; then
    local key; key=$(deb_key "$suite" "$(podman image inspect --format '{{.Id}}' "$base" 2>/dev/null)" "$(sha256sum "$tarballs"/slurm-*.tar.xz "$tarballs"/next/slurm-*.tar.xz 2>/dev/null)")
    mkdir -p "build-deb/$suite"
    if deb_restore "$key"; then
      echo "prepare-tests: .deb for $suite ready, kept from an earlier run of this tree" >&2
    else
      timed ".deb for $suite" logged "$state/deb-$suite.log" bash scripts/container-deb.sh "$suite" ||
        { tail -n 30 "$state/deb-$suite.log" >&2; echo "prepare-tests: building the $suite .deb failed (whole log: $state/deb-$suite.log)" >&2; return 1; }
      local made; made=$(cd build-deb && ls "$suite"/gridlink_*.deb; ls packages/"$suite"/slurm-upstream-*.deb 2>/dev/null || true)
      deb_store "$key" $made
    fi
    echo "${run:-manual}" > "$stamp"
  fi
  timed "container packages ($suite)" bash scripts/container-packages.sh "$suite" >/dev/null
}

# Debian's docker.io and docker-compose (1.29), for the container suite on a
# real Docker engine (test/containers/docker.test.ts starts its own dockerd).
docker_engine() {
  command -v dockerd >/dev/null && command -v docker-compose >/dev/null && return 0
  timed 'docker.io, docker-compose (apt)' bash scripts/install-system-deps.sh --docker > "$state/docker.log" 2>&1 ||
    { tail -n 20 "$state/docker.log" >&2; echo "prepare-tests: installing docker.io failed (whole log: $state/docker.log)" >&2; return 1; }
}

nss_slurm() { timed 'nss_slurm (Debian SLURM)' bash scripts/build-nss-slurm.sh >/dev/null; }

# build-slurm-matrix.sh locks each release itself (its build and its plugins).
slurm_matrix() { timed "SLURM matrix${1:+ $1}" bash scripts/build-slurm-matrix.sh "$@"; }

[ $# -gt 0 ] || set -- all
for what in "$@"; do
  case $what in
    all)
      piece docker docker_engine
      piece deb deb
      piece containers containers
      piece containers-trixie containers_release trixie
      slurm_matrix
      piece nss-slurm nss_slurm
      # after the matrix, which the cluster lane waits for: cold, sid's build
      # image, upstream SLURM and Node 24 module take ~10 minutes
      piece containers-sid containers_release sid
      ;;
    docker) piece docker docker_engine ;;
    deb) piece deb deb ;;
    containers) piece containers containers ;;
    containers-trixie) piece containers-trixie containers_release trixie ;;
    containers-sid) piece containers-sid containers_release sid ;;
    slurm) slurm_matrix ;;
    slurm-*) slurm_matrix "${what#slurm-}" ;;
    nss-slurm) piece nss-slurm nss_slurm ;;
    *) echo "prepare-tests: unknown piece $what (all, docker, deb, containers, containers-trixie, containers-sid, slurm, slurm-X.Y.Z, nss-slurm)" >&2; exit 2 ;;
  esac
done
