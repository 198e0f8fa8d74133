#!/usr/bin/env bash
# Download a tracegate release binary, verify its SHA-256 checksum, install it into a directory.
#
#   install.sh VERSION DEST_DIR        e.g. install.sh v0.1.0 "$RUNNER_TEMP/tracegate-bin"
#
# Fetches BASE/VERSION/tracegate-TARGET.tar.gz and its .sha256 (the assets the release workflow,
# .github/workflows/release.yml, publishes), where
#   BASE    = $TRACEGATE_DOWNLOAD_URL, default https://github.com/$TRACEGATE_REPOSITORY/releases/download
#             ($TRACEGATE_REPOSITORY defaults to tracegate/tracegate)
#   TARGET  = $TRACEGATE_TARGET, default from `uname -m`: x86_64-unknown-linux-musl or
#             aarch64-unknown-linux-musl (static binaries: any Linux distribution)
# Exits non-zero with a one-line message when a download fails, the checksum does not match, or
# the archive holds no tracegate binary; nothing is installed then.
set -euo pipefail

die() { echo "tracegate install: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: install.sh VERSION DEST_DIR"
version=$1
dest=$2
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] \
  || die "version '$version' is not a release tag (vX.Y.Z)"

if [[ -n "${TRACEGATE_TARGET:-}" ]]; then
  target=$TRACEGATE_TARGET
else
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64 | Linux-amd64) target=x86_64-unknown-linux-musl ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
    *) die "no release binary for $(uname -s) $(uname -m); build from source: cargo install --locked --git https://github.com/${TRACEGATE_REPOSITORY:-tracegate/tracegate} --tag $version tracegate" ;;
  esac
fi

base=${TRACEGATE_DOWNLOAD_URL:-https://github.com/${TRACEGATE_REPOSITORY:-tracegate/tracegate}/releases/download}
asset="tracegate-$target.tar.gz"
url="$base/$version/$asset"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() { curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" 2>"$work/curl.err"; }
fetch "$url" "$work/$asset" || die "cannot download $url: $(tail -n1 "$work/curl.err")"
fetch "$url.sha256" "$work/$asset.sha256" || die "cannot download $url.sha256: $(tail -n1 "$work/curl.err")"

# The .sha256 file is `sha256sum` output: "<64 hex digits>  tracegate-TARGET.tar.gz".
expected=$(awk 'NR == 1 { print tolower($1) }' "$work/$asset.sha256")
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "$url.sha256 holds no SHA-256 checksum"
actual=$(sha256sum "$work/$asset" | awk '{ print $1 }')
[[ "$actual" == "$expected" ]] \
  || die "checksum mismatch for $asset: expected $expected, got $actual (not installed)"

mkdir -p "$work/unpacked"
tar -xzf "$work/$asset" -C "$work/unpacked" || die "$asset: not a gzip tar archive"
[[ -f "$work/unpacked/tracegate" ]] || die "$asset holds no tracegate binary at its top level"
mkdir -p "$dest"
install -m 0755 "$work/unpacked/tracegate" "$dest/tracegate"
echo "installed tracegate $version ($target, sha256 $actual) to $dest/tracegate"
