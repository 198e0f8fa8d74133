#!/usr/bin/env bash
# Time `tracegate check` on two generated manifests that were quadratic to locate (issue #15):
# a Cargo.toml with 100,000 dependencies and a ~1.4 MB package.json (40,000 dependencies).
# Usage: bench/manifest-lines.sh [path/to/tracegate]   (default: target/release/tracegate)
# CARGO_DEPS / NPM_DEPS change the sizes (default 100000 / 40000).
set -euo pipefail
bin=${1:-target/release/tracegate}
cargo_deps=${CARGO_DEPS:-100000}
npm_deps=${NPM_DEPS:-40000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/cargo/src" "$dir/npm"
{
  printf '[package]\nname = "big"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
  seq 0 $((cargo_deps - 1)) | sed 's/.*/dep-& = "1"/'
} > "$dir/cargo/Cargo.toml"
printf 'fn main() {}\n' > "$dir/cargo/src/main.rs"
{
  printf '{\n  "name": "big",\n  "scripts": { "start": "node index.js" },\n  "dependencies": {\n'
  seq 0 $((npm_deps - 2)) | sed 's/.*/    "package-number-&": "^1.0.0",/'
  printf '    "package-number-%d": "^1.0.0"\n  }\n}\n' $((npm_deps - 1))
} > "$dir/npm/package.json"
printf 'console.log(1)\n' > "$dir/npm/index.js"
ls -l "$dir/cargo/Cargo.toml" "$dir/npm/package.json" | awk '{print $5, $9}'
for case in cargo npm; do
  start=$(date +%s.%N)
  "$bin" check "$dir/$case" --format json > /dev/null || true
  end=$(date +%s.%N)
  printf '%s: %.2f s\n' "$case" "$(echo "$end - $start" | bc)"
done
