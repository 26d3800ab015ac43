#!/usr/bin/env bash
# Runs the whole test suite: `make test`, and what CI runs.
#
# A rootless tool must be tested rootless. As an ordinary user this is plain
# `go test ./...` (namespace tests need your /etc/subuid range). As root
# (CI), it creates the unprivileged user sandbox-test with a subuid and
# subgid range, builds the tests as root and runs every test binary as that
# user (go test -exec scripts/as-test-user). Then it runs the resource-limit
# tests in a cgroup v2 VM (scripts/test-vm.sh); the host's run leaves them
# out. As root it changes the host, and says so as it does: packages
# (scripts/deps.sh, scripts/vm/run.sh), users, the modes of /dev/net/tun
# and /dev/fuse (put back at the end), caches under /var/cache/sandbox-test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/go-env.sh
scripts/deps.sh test
export CGO_ENABLED=0
# The OCI runtime-tools runtimetest, run inside a sandbox (built once, cached).
SANDBOX_TEST_RUNTIMETEST=$(scripts/runtimetest.sh)
export SANDBOX_TEST_RUNTIMETEST

# The CLI with its slim init, as make build makes them.
SANDBOX_TEST_SLIM_INIT=$(mktemp -d /tmp/sandbox-slim.XXXXXX)
export SANDBOX_TEST_SLIM_INIT
scripts/build.sh "$SANDBOX_TEST_SLIM_INIT"
chmod -R a+rX "$SANDBOX_TEST_SLIM_INIT"

if [ "$(id -u)" -ne 0 ]; then
  trap 'rm -rf "$SANDBOX_TEST_SLIM_INIT"' EXIT
  go test -count=1 -timeout 40m -skip '^TestCgroupVM' "$@" ./...
  scripts/test-vm.sh
  exit
fi

. scripts/devices.sh
copy=
cleanup() {
  restore_devices
  [ -z "$copy" ] || rm -rf "$copy"
  rm -rf "$SANDBOX_TEST_SLIM_INIT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

user=$(scripts/test-user.sh)
open_devices /dev/net/tun /dev/fuse
# The Debian minbase image the image tests pull (debootstrap, once, cached).
SANDBOX_TEST_DEBIAN_OCI=$(scripts/test-images.sh)
export SANDBOX_TEST_DEBIAN_OCI

# The test user must be able to read the tree the tests run in (their
# testdata); a checkout under /root is not, so test a copy then.
src=$PWD
if ! runuser -u "$user" -- test -r "$src/go.mod"; then
  copy=$(mktemp -d /tmp/sandbox-src.XXXXXX)
  cp -a "$src/." "$copy/"
  chmod -R a+rX "$copy"
  cd "$copy"
fi
go test -count=1 -timeout 40m -skip '^TestCgroupVM' -exec "$PWD/scripts/as-test-user" "$@" ./...
# The single-id fallback as a user without subordinate ids.
(cd "$src" && scripts/test-nosubid.sh)
# Real cgroup v2 enforcement, in a throwaway VM (this host is hybrid).
(cd "$src" && scripts/test-vm.sh)
