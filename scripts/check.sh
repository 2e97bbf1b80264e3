#!/usr/bin/env bash
# Static checks, as CI runs them: formatting, lints, and the seams between
# crates (pure crates, kernel code only in minipod-linux: check-purity.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/check-purity.sh
scripts/check-commits.sh
