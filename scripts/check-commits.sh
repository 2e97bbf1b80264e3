#!/usr/bin/env bash
# Commit messages as README.md asks: one topic, a subject of at most 72
# characters (what `git log --oneline`, `git shortlog` and e-mail patches
# show without wrapping), the why in the body.
#
# Checked from the commit after $since on, the point where this rule was
# written down: the history before it is published, and rewriting it would
# change every commit id that clones and CI records point at.
#
#   scripts/check-commits.sh             # every commit since the rule
#   scripts/check-commits.sh main..HEAD  # just a branch's new commits
set -euo pipefail
cd "$(dirname "$0")/.."

since=a372ad32859ac8f8e22072e6023e1cef024165b3
range=${1:-$since..HEAD}
max=72

if ! git rev-parse -q --verify "${range%%..*}^{commit}" >/dev/null; then
  # A shallow clone may not hold the start of the range: nothing to check.
  echo "commits: ${range%%..*} is not in this clone; skipped"
  exit 0
fi

status=0
count=0
while IFS=$'\t' read -r hash subject; do
  count=$((count + 1))
  if [ "${#subject}" -gt "$max" ]; then
    echo "commits: $hash: subject is ${#subject} characters (at most $max): $subject" >&2
    status=1
  fi
done < <(git log --format='%h%x09%s' "$range")
[ $status -eq 0 ] && echo "commits: $count subjects of at most $max characters ($range)"
exit $status
