#!/usr/bin/env bash
# Install every Debian 12 package gridlink's build and tests need, as root.
# Idempotent: safe to re-run; only adds what is missing.
#
#   sudo scripts/install-system-deps.sh [--docker]
#
# --docker adds Debian's docker.io and docker-compose (1.29) for the
# container suite on a real Docker engine (test/containers/docker.test.ts
# starts dockerd itself; with a service manager, the package starts one).
#
# Also:
#  - adds a deb-src entry for bookworm so `apt-get source slurm-wlm` works
#    (the jobcomp plugin compiles against slurmctld's internal headers;
#    scripts/fetch-slurm-source.sh uses the same file name);
#  - makes sure a munge key exists (munged refuses to start without one).
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "install-system-deps: run as root" >&2; exit 1; }
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || echo "install-system-deps: warning: written for Debian 12 (bookworm), this is ${PRETTY_NAME:-unknown}" >&2

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # C/C++ toolchain for plugins/ (cmake) and the Node addon (node-gyp)
  build-essential cmake pkg-config python3 make g++
  # SLURM 22.05: daemons, clients, public headers and libslurm
  slurmctld slurmd slurm-client libslurm-dev
  # munge: authentication for SLURM and the relay
  munge libmunge-dev
  # dpkg-source, to unpack `apt-get source slurm-wlm`
  dpkg-dev
  # ip netns for multi-host tests; pgrep/pkill/ps used by the harness
  iproute2 procps util-linux
  # fetching things in scripts and the Dockerfile
  ca-certificates curl
  # the node_modules cache of scripts/setup.sh
  zstd
  # run-time dependencies of Debian's libnode108 (the embedded runtime);
  # libnode itself is unpacked by scripts/fetch-libnode.sh, not installed,
  # because it conflicts with the machine's nodejs package
  libuv1 libicu72 libc-ares2 libbrotli1 libnghttp2-14 libssl3
  node-acorn node-cjs-module-lexer node-undici
  # the supervisor: sshd for the SSH SLURM backend's tests (started by the
  # test on a loopback port, never as the system service); hpcc (HPL, STREAM)
  # and fio, the benchmarks the supervisor runs as SLURM jobs
  openssh-server hpcc fio
  # identity: the two LDAP servers the connector supports (private test
  # instances, never the system service), their clients, and SSSD so that
  # NSS on this host sees the directory's users (libnss-sss adds `sss` to
  # nsswitch.conf; sssd itself is started by the tests, not by systemd)
  slapd ldap-utils 389-ds-base sssd-ldap sssd-common libnss-sss sssd-tools
  # identity without a directory (users.resolver "gridlink"): tinycdb, which
  # the NSS module libnss_gridlink.so.2 reads its users database with
  libcdb-dev
  # certificates for the LDAP test instances
  openssl
  # building upstream SLURM releases for the plugins' version matrix
  # (scripts/build-slurm.sh; libmunge-dev is above)
  libjson-c-dev libhttp-parser-dev liblz4-dev libhwloc-dev libpam0g-dev libdbus-1-dev libjwt-dev libyaml-dev
  # the slurm-in-docker cluster (compose.yaml) under podman: runc because
  # crun refuses containers on this host; debootstrap builds the base image
  # where no registry is reachable (scripts/container-base.sh)
  podman runc debootstrap
  # monitoring: test/grafana/prometheus.test.ts runs Prometheus's binary
  # (with its own config and storage, never the system service) against a
  # devnet, with every query of contrib/grafana/gridlink.json; promtool
  # checks compose's Prometheus configuration
  prometheus
)
if [ "${1:-}" = --docker ]; then
  PACKAGES+=(docker.io docker-compose)
elif [ $# -gt 0 ]; then
  echo "install-system-deps: unknown argument $1 (--docker)" >&2; exit 2
fi

# deb-src: mirror the URIs/Suites/Components of the deb entries of
# debian.sources (deb822) when present, else of a one-line sources.list.
src_file=/etc/apt/sources.list.d/gridlink-deb-src.sources
have_deb_src() { grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; }
if ! have_deb_src; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$src_file"
  else
    cat > "$src_file" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  echo "install-system-deps: added $src_file"
fi

# slapd: no system instance (the tests and the devnet run their own with a
# private cn=config); without this preseed its postinst creates dc=nodomain.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections

apt-get update -qq
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-system-deps: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-system-deps: all packages present"
fi

# munge key: the package's postinst normally creates one; containers built
# with policy-rc.d or --no-triggers sometimes end up without it.
key=/etc/munge/munge.key
if [ ! -s "$key" ]; then
  install -d -o munge -g munge -m 0700 /etc/munge
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile="$key" --force
  else
    dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
  fi
  echo "install-system-deps: created $key"
fi
chown munge:munge "$key"
chmod 0400 "$key"

# munged's runtime dirs: without systemd/tmpfiles nobody creates /run/munge.
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge

echo "install-system-deps: done ($(dpkg-query -W -f='${Version}' slurmctld) slurm, $(dpkg-query -W -f='${Version}' munge) munge)"
