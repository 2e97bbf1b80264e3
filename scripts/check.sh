#!/usr/bin/env bash
# Static checks, as CI runs them: formatting, lints, and the purity of the pure crates.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/check-purity.sh
scripts/check-commits.sh
