#!/usr/bin/env bash
# Runs the whole test suite: `make test`, and what CI runs.
#
# A rootless tool must be tested rootless. As an ordinary user this is plain
# `go test ./...` (namespace tests need your /etc/subuid range). As root
# (CI), it creates the unprivileged user sandbox-test with a subuid and
# subgid range, builds the tests as root and runs every test binary as that
# user (go test -exec scripts/as-test-user).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
export CGO_ENABLED=0

if [ "$(id -u)" -ne 0 ]; then
  exec go test -count=1 "$@" ./...
fi

user=$(scripts/test-user.sh)

# The test user must be able to read the tree the tests run in (their
# testdata); a checkout under /root is not, so test a copy then.
src=$PWD
if ! runuser -u "$user" -- test -r "$src/go.mod"; then
  copy=$(mktemp -d /tmp/sandbox-src.XXXXXX)
  trap 'rm -rf "$copy"' EXIT
  cp -a "$src/." "$copy/"
  chmod -R a+rX "$copy"
  cd "$copy"
fi
exec go test -count=1 -exec "$PWD/scripts/as-test-user" "$@" ./...
