#!/usr/bin/env bash
# The seams of docs/architecture.md, checked:
#  1. the pure crates decide and never touch the kernel: no crate that
#     reaches the kernel (nix, libc, tokio, ...) among their normal or build
#     dependencies, however indirect;
#  2. all kernel code lives in minipod-linux: every other crate root says
#     `#![forbid(unsafe_code)]`, no `unsafe` in their sources, and no
#     direct nix/libc dependency except the justified ones listed below;
#  3. the daemon does not depend on the command line (`minipod`);
#  4. docs/architecture.md's table of crates says what cargo says;
#  5. no import loops between the modules of a crate
#     (scripts/check-module-loops.py).
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

# 2. Kernel code only in minipod-linux.
#
# Direct nix/libc dependencies outside minipod-linux, each with why. Keep
# this short: a syscall belongs behind a safe API in minipod-linux; a type
# or a constant (Signal, Pid, an errno) is fine here.
declare -A kernel_dep_exceptions=(
  [minipod-image:nix]="OFlag, the type of the flags minipod_linux::private_fs::open_beneath takes, and errno constants (ELOOP, ENOENT, ENOTDIR, EXDEV) that tell a replaced directory"
  [minipod-runtime-tests:nix]="the real-kernel test harness: mounts, statfs, signals, uids"
  [minipod-runtime-tests:libc]="the real-kernel test harness: a fork in the cgroup tests"
)

# Directories of every crate but minipod-linux, with their package name.
other_crates=()
for manifest in crates/*/Cargo.toml runtime-tests/Cargo.toml; do
  dir=$(dirname "$manifest")
  [ "$dir" = crates/minipod-linux ] && continue
  other_crates+=("$dir")
done

for dir in "${other_crates[@]}"; do
  name=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -1)
  # Every crate root (the library and each binary) forbids unsafe code.
  for root in "$dir"/src/lib.rs "$dir"/src/main.rs "$dir"/src/bin/*.rs; do
    [ -f "$root" ] || continue
    if ! grep -q '^#!\[forbid(unsafe_code)\]' "$root"; then
      echo "purity: $name: $root lacks #![forbid(unsafe_code)]" >&2
      status=1
    fi
  done
  # No unsafe in its sources (comments aside), not even allowed locally:
  # the keyword as code uses it (a block, or before fn/impl/trait/extern)
  # and any lint attribute naming unsafe_code but the crate root's forbid.
  # The word in a message ("unsafe sysctls") is not code.
  unsafe_uses=$(grep -rnE '(^|[^_[:alnum:]])unsafe[[:space:]]*(\{|(fn|impl|trait|extern)([^_[:alnum:]]|$))|unsafe_code' "$dir/src" --include='*.rs' |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' | grep -v 'forbid(unsafe_code)' || true)
  if [ -n "$unsafe_uses" ]; then
    echo "purity: $name: unsafe code outside minipod-linux:" >&2
    sed 's/^/    /' <<<"$unsafe_uses" >&2
    status=1
  fi
  # Its direct normal and build dependencies on nix or libc.
  kernel_deps=$(awk '
      /^\[/ { section = ($0 == "[dependencies]" || $0 == "[build-dependencies]") }
      section && /^(nix|libc)[ .=]/ { sub(/[ .=].*/, ""); print }
    ' "$dir/Cargo.toml" | sort -u)
  for dep in $kernel_deps; do
    if [ -z "${kernel_dep_exceptions[$name:$dep]:-}" ]; then
      echo "purity: $name depends on $dep: kernel code belongs in minipod-linux" >&2
      echo "    (or add a justified line to kernel_dep_exceptions in $0)" >&2
      status=1
    fi
  done
done
# An exception for a dependency a crate no longer has is stale: remove it.
for key in "${!kernel_dep_exceptions[@]}"; do
  name=${key%%:*} dep=${key##*:}
  manifest=$(grep -lE "^name *= *\"$name\"" crates/*/Cargo.toml runtime-tests/Cargo.toml | head -1)
  if [ -z "$manifest" ] || ! grep -qE "^$dep[ .=]" "$manifest"; then
    echo "purity: stale exception $key in $0: $name does not depend on $dep" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "purity: unsafe code and nix/libc only in minipod-linux (${#kernel_dep_exceptions[@]} listed exceptions)"

# 3. The daemon does not depend on the command line.
# Node configuration, pull secrets and server-assigned fields live in
# minipod-node, which both binaries use.
if cargo tree --locked -p minipodd -e normal --prefix none --format '{p}' |
  grep -qE '^minipod v'; then
  echo "purity: minipodd depends on the minipod CLI crate (cargo tree -p minipodd -e normal -i minipod)" >&2
  status=1
else
  echo "purity: minipodd does not depend on the minipod CLI crate"
fi

# 4. docs/architecture.md's table of crates says what each uses: it must be
# what cargo says (normal dependencies inside the workspace).
table=$(sed -n 's/^| `\(minipod[a-z-]*\)` | \([^|]*\) |.*/\1:\2/p' docs/architecture.md |
  tr -d '`' | sed 's/—//; s/, */ /g; s/  */ /g; s/ *$//')
actual=$(cargo metadata --locked --format-version 1 --no-deps | python3 -c '
import json, sys
m = json.load(sys.stdin)
names = {p["name"] for p in m["packages"]}
for p in sorted(m["packages"], key=lambda p: p["name"]):
    if p["name"] == "minipod-runtime-tests":
        continue
    uses = sorted({d["name"] for d in p["dependencies"] if d["name"] in names and d["kind"] is None})
    print(p["name"] + ":" + " ".join(uses))
')
if diff <(sort <<<"$table") <(sort <<<"$actual") >/dev/null; then
  echo "purity: docs/architecture.md's crate table matches cargo metadata"
else
  echo "purity: docs/architecture.md's crate table differs from cargo metadata (< docs, > cargo):" >&2
  diff <(sort <<<"$table") <(sort <<<"$actual") | grep '^[<>]' | sed 's/^/    /' >&2
  status=1
fi

# 5. No import loops between the modules of a crate.
scripts/check-module-loops.py || status=1
exit $status
