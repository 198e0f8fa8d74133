#!/usr/bin/env bash
# Compare two tracegate builds side by side on the synthetic monorepo (both profiles):
# wall time of `check --format json` (median of RUNS, runs alternated old/new) and whether
# their JSON is byte-identical. For engine moves that must change nothing.
#
#   bash bench/check-compare.sh OLD_BINARY NEW_BINARY [SERVICES] [FILES_PER_SERVICE] [RUNS]
#   e.g. git worktree add /tmp/old <rev> && (cd /tmp/old && cargo build --release)
#        bash bench/check-compare.sh /tmp/old/target/release/tracegate target/release/tracegate
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1; new=$2; services=${3:-1000}; files=${4:-52}; runs=${5:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/tracegate-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for profile in dense realistic; do
  tree=$work/$profile
  python3 bench/gen-monorepo.py "$tree" "$services" "$files" --profile "$profile" >/dev/null
  : > "$work/old.t"; : > "$work/new.t"
  for _ in $(seq "$runs"); do
    for which in old new; do
      bin=${!which}
      start=$(date +%s.%N)
      "$bin" check "$tree" --format json > "$work/$which.json" || true
      end=$(date +%s.%N)
      echo "$end - $start" | bc >> "$work/$which.t"
    done
  done
  same=$(cmp -s "$work/old.json" "$work/new.json" && echo identical || echo DIFFERENT)
  printf '%-9s %d services x %d files: old %.2f s, new %.2f s (median of %d), JSON %s\n' \
    "$profile" "$services" "$files" "$(median < "$work/old.t")" "$(median < "$work/new.t")" "$runs" "$same"
done
