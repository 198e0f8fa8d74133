#!/usr/bin/env bash
# Benchmark `tracegate check` on a synthetic monorepo against semgrep and ripgrep.
#
#   bash bench/check-monorepo.sh [SERVICES] [FILES_PER_SERVICE] [RUNS]
#
# Generates SERVICES services (default 1000) of FILES_PER_SERVICE files each (default 52, so
# >= 50,000 files) in seven languages, plus a Kubernetes manifest per service, in a temp dir;
# builds tracegate in release mode; then times, on the same tree (median of RUNS, default 3):
#   - tracegate check (release build, all rules, JSON to /dev/null)
#   - semgrep (one run) with equivalent rules (bench/semgrep-rules.yaml; installed into ./.venv with pip)
#   - rg with the same patterns as regexes (apt package ripgrep, else `cargo install ripgrep`)
# and prints the ratios against the targets: check <= 10 s, >= 20x faster than semgrep, within
# 3x of rg. Not part of CI (semgrep is large); run it by hand and record BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

services=${1:-1000}
files=${2:-52}
runs=${3:-3}

log() { printf '==> %s\n' "$*" >&2; }

# --- tools --------------------------------------------------------------------------------
if ! command -v rg >/dev/null; then
  log "installing ripgrep"
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    apt-get install -y -qq ripgrep >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null; }
  else
    cargo install --quiet --locked ripgrep
  fi
fi
if [[ ! -x .venv/bin/semgrep ]]; then
  log "installing semgrep into ./.venv"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check semgrep
fi
semgrep=$root/.venv/bin/semgrep
log "building tracegate (release)"
cargo build --release --quiet --bin tracegate
tracegate=$root/target/release/tracegate

# --- the synthetic monorepo ---------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tracegate-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/monorepo
log "generating $services services x $files files in $tree"
python3 bench/gen-monorepo.py "$tree" "$services" "$files"
nfiles=$(find "$tree" -type f | wc -l)
nbytes=$(du -sb "$tree" | cut -f1)
log "$nfiles files, $((nbytes / 1024 / 1024)) MiB"

# --- timing -------------------------------------------------------------------------------
# median wall-clock seconds of $runs runs of "$@" (stdout discarded, exit code 0 or 1 accepted)
median() {
  local times=() t0 t1 code
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s.%N)
    set +e
    "$@" >/dev/null 2>"$work/stderr"
    code=$?
    set -e
    t1=$(date +%s.%N)
    if ((code > 1)); then
      log "failed (exit $code): $*"; cat "$work/stderr" >&2; exit 1
    fi
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p"
}

patterns=bench/patterns.txt
log "tracegate check"
t_check=$(median "$tracegate" check "$tree" --format json)
"$tracegate" check "$tree" --format json >"$work/check.json" || true
check_services=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["summary"]["services"], r["summary"]["passing"], r["summary"]["failing"], sum(r["summary"]["findings"].values()))' "$work/check.json")

log "rg"
t_rg=$(median rg --no-config --count-matches -f "$patterns" "$tree")
rg_matches=$(rg --no-config --count-matches -f "$patterns" "$tree" | awk -F: '{s += $NF} END {print s}')

log "semgrep (one run: it takes minutes)"
t0=$(date +%s.%N)
"$semgrep" scan --config bench/semgrep-rules.yaml --metrics=off --disable-version-check --jobs 2 \
  --timeout 0 --max-target-bytes 0 --no-git-ignore --quiet --json "$tree" >"$work/semgrep.json" 2>"$work/semgrep.err" || true
t1=$(date +%s.%N)
t_semgrep=$(echo "$t1 - $t0" | bc -l)
sg_results=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r["results"]), "results,", len(r["errors"]), "errors")' "$work/semgrep.json")

ratio() { echo "scale=1; $1 / $2" | bc -l; }
cat <<EOF

tree:      $services services, $nfiles files, $((nbytes / 1024 / 1024)) MiB ($(nproc) cores, median of $runs runs)
tracegate: ${t_check}s  (services, passing, failing, findings: $check_services)
semgrep:   ${t_semgrep}s  ($sg_results)          semgrep / check = $(ratio "$t_semgrep" "$t_check")x  (target >= 20x)
rg:        ${t_rg}s  ($rg_matches matching lines)       check / rg      = $(ratio "$t_check" "$t_rg")x  (target <= 3x)
target check <= 10 s: $(echo "$t_check <= 10" | bc -l | sed 's/1/met/;s/0/missed/')
EOF
