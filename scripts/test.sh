#!/usr/bin/env bash
# The project's tests, set-up included: what README.md calls "run the tests".
#
#   scripts/test.sh            # every test of the workspace
#   scripts/test.sh -p minipod-plan   # extra arguments go to cargo test
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  # The image store makes whiteout device nodes; the runtime tests make
  # namespaces, mounts and cgroups. The pure crates need no root:
  #   cargo test -p minipod-spec -p minipod-plan
  echo "scripts/test.sh: the tests create device nodes, namespaces, mounts and cgroups: run as root (e.g. sudo -E scripts/test.sh)" >&2
  exit 1
fi
scripts/setup.sh
cargo test --workspace --locked "$@"
