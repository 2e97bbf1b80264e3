# Builds minipod and runs its tests in a privileged container, for those who
# prefer that to running them on the host:
#
#   docker build -t minipod .
#   docker run --rm --privileged --cgroupns=host minipod            # scripts/test.sh
#   docker run --rm --privileged --cgroupns=host minipod scripts/demo
#
# The tests create real namespaces, mounts and cgroups, so the container must
# be privileged. On a cgroup v2 host it must see the host's cgroup tree
# (--cgroupns=host). On a cgroup v1 host use --cgroupns=private instead: there
# runc mounts the container's own cgroup as /sys/fs/cgroup/<controller>, and
# only a private cgroup namespace makes /proc/<pid>/cgroup name the same paths
# (with --cgroupns=host there, runtime-tests' cgroups test fails on the
# mismatch and its daemon tests hang).
# Each test works under a cgroup of its own (`minipod-test-*`) and removes it.
# scripts/docker-test does all this on a host without a Docker engine running.
FROM rust:1-bookworm

# What scripts/setup.sh installs, ahead of time, so the image is complete
# (keep this list the same as `packages` there).
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      ca-certificates gcc libc6-dev pkg-config busybox-static curl \
      docker-registry skopeo apache2-utils \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN cargo build --workspace --locked --all-targets

# The container's own root is an overlayfs, and overlayfs refuses what the
# tests and minipod do: mknod of a whiteout (char 0:0) in an unpacked layer
# fails with EPERM, and an overlayfs cannot be the upperdir of another. So the
# directories they write to (the tests' tempdirs under /tmp, minipod's image
# store and pod state under /var/lib/minipod) are volumes: real directories
# of the host's file system, made for each container and, with --rm, removed.
VOLUME ["/tmp", "/var/lib/minipod"]

CMD ["scripts/test.sh"]
