#!/usr/bin/env bash
# Benchmark `tracegate check` on a synthetic monorepo against semgrep and ripgrep.
#
#   bash bench/check-monorepo.sh [SERVICES] [FILES_PER_SERVICE] [RUNS]
#   PROFILE=realistic bash bench/check-monorepo.sh 1000 52 3
#
# PROFILE (bench/gen-monorepo.py --profile): dense (default; every file after the entry point
# is a handler that records span attributes and calls out: the worst case for the source
# pre-filter) or realistic (five handlers per service, the rest domain code without tracing or
# HTTP-client signals).
# Generates SERVICES services (default 1000) of FILES_PER_SERVICE files each (default 52, so
# >= 50,000 files) in seven languages, plus a Kubernetes manifest per service, in a temp dir;
# builds tracegate (release-lto profile); then times, on the same tree (median of RUNS, default 3;
# check and rg alternate run by run):
#   - tracegate check (release-lto build, all rules, JSON to /dev/null)
#   - semgrep (one run) with equivalent rules (bench/semgrep-rules.yaml; installed into ./.venv-bench with pip)
#   - rg with the same patterns as regexes (apt package ripgrep, else `cargo install ripgrep`)
# and prints the ratios against the targets: check <= 10 s, >= 20x faster than semgrep, within
# 3x of rg. Not part of CI (semgrep is large); run it by hand and record BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

services=${1:-1000}
files=${2:-52}
runs=${3:-3}
profile=${PROFILE:-dense}

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
# Its own venv: semgrep pins an older OpenTelemetry SDK, which would downgrade the test peers
# in ./.venv (tests/interop_python.rs needs opentelemetry-sdk 1.45.2).
if [[ ! -x .venv-bench/bin/semgrep ]]; then
  log "installing semgrep into ./.venv-bench"
  [[ -x .venv-bench/bin/python ]] || python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet --disable-pip-version-check semgrep
fi
semgrep=$root/.venv-bench/bin/semgrep
# The release-lto profile (Cargo.toml): what distributed binaries are built with.
log "building tracegate (release-lto profile; the final link takes a few minutes)"
cargo build --profile release-lto --quiet --bin tracegate
tracegate=$root/target/release-lto/tracegate

# --- the synthetic monorepo ---------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tracegate-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/monorepo
log "generating $services services x $files files ($profile profile) in $tree"
python3 bench/gen-monorepo.py "$tree" "$services" "$files" --profile "$profile"
nfiles=$(find "$tree" -type f | wc -l)
nbytes=$(du -sb "$tree" | cut -f1)
log "$nfiles files, $((nbytes / 1024 / 1024)) MiB"

# --- timing -------------------------------------------------------------------------------
# "WALL CPU" seconds (CPU = user + sys, children included) of one run of "$@", stdout to $out
# (default /dev/null); exit code 0 or 1 accepted. CPU seconds matter on a shared machine.
once() {
  local code
  set +e
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"${out:-/dev/null}" 2>"$work/stderr"
  code=$?
  set -e
  if ((code > 1)); then
    log "failed (exit $code): $*"; cat "$work/stderr" >&2; exit 1
  fi
  tail -n1 "$work/time" | awk '{printf "%.2f %.2f\n", $1, $2 + $3}'
}
# the median (by wall time) of "WALL CPU" lines
median_of() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }

patterns=bench/patterns.txt
# check and rg alternate, run by run, so that a machine slowing down or speeding up during the
# measurement (a shared VM does) weighs on both alike; each gets the median of its runs.
log "tracegate check and rg, $runs runs each, alternating"
checks=() rgs=()
for ((i = 0; i < runs; i++)); do
  checks+=("$(once "$tracegate" check "$tree" --format json)")
  rgs+=("$(once rg --no-config --count-matches -f "$patterns" "$tree")")
done
read -r t_check c_check < <(median_of "${checks[@]}")
read -r t_rg c_rg < <(median_of "${rgs[@]}")
read -r _ _ < <(out=$work/check.json once "$tracegate" check "$tree" --format json)
check_services=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); s=r["summary"]; print(s["services"], "services,", s["passing"], "passing,", s["failing"], "failing,", sum(s["findings"].values()), "findings")' "$work/check.json")
rg_matches=$(rg --no-config --count-matches -f "$patterns" "$tree" | awk -F: '{s += $NF} END {print s}')

log "semgrep (one run: it takes minutes)"
read -r t_semgrep c_semgrep < <(out=$work/semgrep.json once "$semgrep" scan --config bench/semgrep-rules.yaml \
  --metrics=off --disable-version-check --jobs 2 --timeout 0 --max-target-bytes 0 --no-git-ignore --quiet --json "$tree")
sg_results=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r["results"]), "results,", len(r["errors"]), "errors")' "$work/semgrep.json")

ratio() { if [[ $(echo "$2 > 0" | bc -l) == 1 ]]; then echo "scale=1; $1 / $2" | bc -l; else echo "n/a "; fi; }
load=$(cut -d' ' -f1-3 /proc/loadavg)
cat <<EOF

tree:      $services services ($profile profile), $nfiles files, $((nbytes / 1024 / 1024)) MiB; $(nproc) cores, load average $load
           (tracegate and rg: median of $runs runs, alternating; semgrep: one run)
                 wall s    CPU s (user+sys)
tracegate check  $(printf '%8s  %8s' "$t_check" "$c_check")   $check_services
semgrep          $(printf '%8s  %8s' "$t_semgrep" "$c_semgrep")   $sg_results
rg               $(printf '%8s  %8s' "$t_rg" "$c_rg")   $rg_matches matching lines

semgrep / check: $(ratio "$t_semgrep" "$t_check")x wall, $(ratio "$c_semgrep" "$c_check")x CPU   (target >= 20x)
check / rg:      $(ratio "$t_check" "$t_rg")x wall, $(ratio "$c_check" "$c_rg")x CPU   (target <= 3x)
check <= 10 s:   $(echo "$t_check <= 10" | bc -l | sed 's/1/met/;s/0/missed/') ($t_check s wall)
EOF
