#!/usr/bin/env bash
# The project's tests, set-up included: what README.md calls "run the tests".
#
#   scripts/test.sh            # every test of the workspace
#   scripts/test.sh -p minipod-plan   # extra arguments go to cargo test
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked "$@"
