#!/usr/bin/env bash
# `make bench`: start-up medians of sandbox against bwrap and unshare. A
# rootless tool is measured rootless: as root, this runs as sandbox-test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
export CGO_ENABLED=0
dir=$(mktemp -d /tmp/sandbox-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/bench" ./bench
cp bin/sandbox "$dir/sandbox"
chmod -R a+rX "$dir"
cd "$dir"
if [ "$(id -u)" -eq 0 ]; then
  user=$("$OLDPWD/scripts/test-user.sh")
  exec runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" "$dir/bench" -sandbox "$dir/sandbox" "$@"
fi
exec "$dir/bench" -sandbox "$dir/sandbox" "$@"
