#!/usr/bin/env bash
# Installs what minipod needs on a fresh Debian or Ubuntu host. Safe to run
# again: it installs only what is missing. Runs apt-get through sudo when not root.
#
#   scripts/setup.sh          # build and tests
#   scripts/setup.sh --vm     # also what scripts/vm-test needs
set -euo pipefail

# Debian packages the build and the tests use:
#  - the build: ca-certificates gcc libc6-dev pkg-config;
#  - the tests: busybox-static (the base of the test images, see scripts/busybox-image),
#    curl (raw requests to the daemon's API in runtime-tests/tests/daemon.rs),
#    python3 (scripts/check-purity.sh reads cargo metadata and the module graph);
#  - the registry tests (runtime-tests/src/registry.rs): docker-registry (a real OCI
#    distribution registry, started by the tests on loopback), skopeo (pushes the test
#    images to it), apache2-utils (htpasswd with bcrypt, for the registry's basic auth);
#  - pod networks (crates/minipod-cni, runtime-tests/tests/cni.rs): containernetworking-plugins
#    (the CNI plugins bridge, host-local, portmap and loopback, in /usr/lib/cni), iptables
#    (bridge's ipMasq and portmap run it) and iproute2 (`ip netns`, in the tests);
#  - the native default network's NAT and host ports (crates/minipod-cni/src/nat,
#    runtime-tests/tests/nat.rs): nftables (the `nft` command, fed a script on stdin).
packages=(ca-certificates gcc libc6-dev pkg-config busybox-static curl python3 docker-registry skopeo apache2-utils
  containernetworking-plugins iptables iproute2 nftables)
# scripts/vm-test (the runtime tests on cgroup v2 in a VM): qemu-system-x86
# (the VM), xz-utils (to unpack the kernel package) and apparmor (its
# apparmor_parser loads the AppArmor tests' profiles in the VM, whose kernel has
# AppArmor; it loads nothing on the host by itself).
if [ "${1:-}" = "--vm" ]; then
  packages+=(qemu-system-x86 xz-utils apparmor)
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -q
  # docker-registry's package starts a registry on port 5000 when installed; the tests
  # start their own on loopback and none may be left running. A policy-rc.d that answers
  # 101 ("action forbidden") stops invoke-rc.d from starting any service during this
  # install (an existing policy-rc.d is left alone: it is the host's policy).
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/setup.sh: start no service while it installs packages\nexit 101\n' |
      as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"
    own_policy=1
    trap 'as_root rm -f "$policy"' EXIT
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$own_policy" -eq 1 ]; then
    as_root rm -f "$policy"
    trap - EXIT
  fi
fi

# Rust: edition 2024 needs cargo >= 1.88 (Debian 12's own cargo is older).
need_minor=88
if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: no Rust toolchain found; install Rust 1.$need_minor or newer with rustup (https://rustup.rs), then run this again" >&2
  exit 1
fi
minor=$(cargo --version | sed -E 's/^cargo 1\.([0-9]+).*/\1/')
if [ "$minor" -lt "$need_minor" ]; then
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain install stable --profile minimal --component rustfmt --component clippy
  else
    echo "setup: cargo $(cargo --version) is too old; minipod needs Rust 1.$need_minor or newer (use rustup)" >&2
    exit 1
  fi
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
echo "setup: ready ($(cargo --version))"
