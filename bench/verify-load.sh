#!/usr/bin/env bash
# verify against the demo platform under load: N requests at concurrency 64 (bench/verify-load.yaml
# with its repeat replaced), one process running both the platform and verify.
# Prints per N: requests/s of the healthy phase, spans read, judging time and spans judged/s,
# peak RSS. Usage: bench/verify-load.sh [N ...]   (default: 2500 5000 10000 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%8s %10s %10s %10s %10s %12s %10s\n' requests replay_s req_per_s spans judge_ms spans_per_s peak_MB
for n in "${@:-2500 5000 10000 20000}"; do
  for count in $n; do
    sed "s/repeat: 10000/repeat: $count/" bench/verify-load.yaml > "$work/s.yaml"
    /usr/bin/time -f '%M' -o "$work/rss" target/release/tracegate demo --scenario "$work/s.yaml" \
      --backend healthy --format json --output "$work/r.json" || true
    python3 - "$work/r.json" "$work/rss" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); rss = int(open(sys.argv[2]).read().split()[-1])
t = r["timings"]; spans = r["spans_read"]
bad = [c["id"] for c in r["criteria"] if c["verdict"] == "fail"]
print(f'{r["requests"]:8d} {t["replay_ms"]/1000:10.2f} {r["requests"]/max(t["replay_ms"],1)*1000:10.0f} '
      f'{spans:10d} {t["judge_ms"]:10d} {spans/max(t["judge_ms"],1)*1000:12.0f} {rss/1024:10.0f}'
      + (f'   FAILED {bad}' if bad else ''))
PY
  done
done
