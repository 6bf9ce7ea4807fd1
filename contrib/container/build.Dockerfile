# build.Dockerfile - the build container of the gridlink .deb for one Debian
# release (scripts/container-deb.sh): that release's own compilers, cmake,
# SLURM (daemons for the version check, libslurm-dev for the headers), munge
# and libnode-dev/nodejs, so that the plugins, the addon and the embedded
# runtime are compiled against exactly what the node image (Dockerfile.slurm)
# then installs from the same mirror. Nothing of gridlink is in the image: the
# checkout is mounted when it runs. Build context: contrib/container.
#
#   podman --runtime runc build -f contrib/container/build.Dockerfile \
#     --build-arg BASE=localhost/gridlink-base:trixie -t localhost/gridlink-build:trixie contrib/container
ARG BASE=docker.io/library/debian:trixie
FROM ${BASE}
# The release's SLURM packages; empty for a release whose image runs upstream
# SLURM built in this container (contrib/container/releases: upstream=).
ARG SLURM_PACKAGES="libslurm-dev slurmctld slurmd"
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# The package lists stay: build-deb.sh asks apt-cache about libnode's Depends.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config python3 file xz-utils ca-certificates \
      ${SLURM_PACKAGES} libmunge-dev munge libcdb-dev \
      nodejs libnode-dev dpkg-dev \
 && rm -rf /var/cache/apt/archives/*.deb
