#!/usr/bin/env bash
# Ingest throughput of two `tracegate collect` builds, measured side by side in one run.
#
#   bash bench/ingest-compare.sh BASE_REV [ROUNDS] [SECONDS]
#
# Builds the release binary at BASE_REV (in a git worktree under target/bench-base, reused when
# it is already there) and at the work tree, then runs ROUNDS rounds (default 5). In each
# round each binary, in alternating order, gets a fresh `collect` process (HTTP only, port
# picked by the OS) loaded by `examples/otlp_load.rs` for SECONDS (default 3): protobuf
# batches of 512 spans, 4 keep-alive connections. Prints spans/s per round and the medians.
#
# Extra flags for both collectors: COLLECT_ARGS="--store /tmp/x" (a fresh directory is made per
# run when COLLECT_ARGS contains @STORE@, e.g. COLLECT_ARGS="--store @STORE@"); for the new
# build only: NEW_ARGS="--fsync batch". LOAD_ARGS="--gzip --connections 8" goes to the load
# generator. The store caps are raised so that neither build sheds load during a round.
set -euo pipefail
cd "$(dirname "$0")/.."

base_rev=${1:?usage: bench/ingest-compare.sh BASE_REV [ROUNDS] [SECONDS]}
rounds=${2:-5}
seconds=${3:-3}
base_dir=target/bench-base

if [[ ! -d $base_dir ]]; then
  git worktree add --detach -q "$base_dir" "$base_rev"
else
  git -C "$base_dir" checkout -q --detach "$base_rev"
fi
echo "building $base_rev and the work tree (release)..." >&2
(cd "$base_dir" && cargo build --release --locked -q --bin tracegate)
cargo build --release --locked -q --bin tracegate --example otlp_load
base_bin=$base_dir/target/release/tracegate
new_bin=target/release/tracegate
load=target/release/examples/otlp_load

caps=(--max-spans 200000000 --max-stored-bytes 17179869184 --quiet-ms 600000 --no-grpc)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

# run BIN EXTRA_ARGS: start a collector, load it, print spans/s
run() {
  local bin=$1 extra=$2 args out pid url store
  store="$tmp/store-$RANDOM$RANDOM"
  args=${COLLECT_ARGS:-}
  args=${args//@STORE@/$store}
  out="$tmp/out"
  # shellcheck disable=SC2086
  "$bin" collect --otlp-http 127.0.0.1:0 "${caps[@]}" $args $extra >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$out" | head -1 || true)
    [[ -n $url ]] && break
    sleep 0.05
  done
  if [[ -z $url ]]; then
    echo "collector did not start: $(cat "$out")" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  "$load" "$url" --seconds "$seconds" ${LOAD_ARGS:-} >"$tmp/load.json"
  python3 - "$tmp/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = sum(r["other_answers"].values())
note = f" (non-200: {r['other_answers']})" if bad else ""
print(f"{r['spans_per_sec']:.0f}{note}")
PY
  # not SIGINT: at a graceful stop collect prints every trace not yet printed, which takes
  # tens of seconds with millions of spans held and measures nothing here
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$store"
}

declare -a base_r new_r
for r in $(seq "$rounds"); do
  if (( r % 2 )); then
    b=$(run "$base_bin" ""); n=$(run "$new_bin" "${NEW_ARGS:-}")
  else
    n=$(run "$new_bin" "${NEW_ARGS:-}"); b=$(run "$base_bin" "")
  fi
  printf 'round %d: base %s spans/s, new %s spans/s\n' "$r" "$b" "$n"
  base_r+=("${b%% *}"); new_r+=("${n%% *}")
done
python3 - "${base_r[*]}" "${new_r[*]}" <<'EOF'
import statistics, sys
base = [float(x) for x in sys.argv[1].split()]
new = [float(x) for x in sys.argv[2].split()]
mb, mn = statistics.median(base), statistics.median(new)
print(f"median: base {mb:,.0f} spans/s, new {mn:,.0f} spans/s, new/base {mn / mb:.3f}")
EOF
