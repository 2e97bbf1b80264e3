# Builds minipod and runs its tests in a privileged container, for those who
# prefer that to running them on the host:
#
#   docker build -t minipod .
#   docker run --rm --privileged --cgroupns=host minipod            # scripts/test.sh
#   docker run --rm --privileged --cgroupns=host minipod scripts/demo
#
# The tests create real namespaces, mounts and cgroups, so the container must
# be privileged and see the host's cgroup tree (--cgroupns=host). Each test
# works under a cgroup of its own (`minipod-test-*`) and removes it.
FROM rust:1-bookworm

# What scripts/setup.sh installs, ahead of time, so the image is complete.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      ca-certificates gcc libc6-dev pkg-config busybox-static \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN cargo build --workspace --locked --all-targets

CMD ["scripts/test.sh"]
