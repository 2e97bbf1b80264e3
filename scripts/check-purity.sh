#!/usr/bin/env bash
# The pure crates decide; they never touch the kernel. This check keeps them so:
#  - no crate that reaches the kernel (nix, libc, tokio, ...) among their
#    normal or build dependencies, however indirect;
#  - `#![forbid(unsafe_code)]` at their crate root.
# (Dev-dependencies are not shipped and are not checked.)
set -euo pipefail
cd "$(dirname "$0")/.."

pure_crates=(minipod-spec minipod-plan minipod-lifecycle)
forbidden='^(nix|libc|tokio|mio|rustix|linux-raw-sys|libcgroups|caps|socket2|getrandom) '

status=0
for crate in "${pure_crates[@]}"; do
  dir="crates/$crate"
  if [ ! -d "$dir" ]; then
    echo "purity: $crate: not in the workspace yet"
    continue
  fi
  deps=$(cargo tree --locked -p "$crate" -e normal,build --prefix none --format '{p}' | sort -u)
  bad=$(grep -E "$forbidden" <<<"$deps" || true)
  if [ -n "$bad" ]; then
    echo "purity: $crate depends on kernel-touching crates:" >&2
    sed 's/^/    /' <<<"$bad" >&2
    echo "    (see: cargo tree -p $crate -e normal,build -i <crate>)" >&2
    status=1
  fi
  if ! grep -q '^#!\[forbid(unsafe_code)\]' "$dir/src/lib.rs"; then
    echo "purity: $crate: $dir/src/lib.rs lacks #![forbid(unsafe_code)]" >&2
    status=1
  fi
  [ $status -eq 0 ] && echo "purity: $crate: pure ($(wc -l <<<"$deps") crates in its tree)"
done
exit $status
