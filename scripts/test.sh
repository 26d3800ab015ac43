#!/usr/bin/env bash
# Runs the whole test suite: `make test`, and what CI runs.
#
# A rootless tool must be tested rootless. As an ordinary user this is plain
# `go test ./...` (namespace tests need your /etc/subuid range). As root
# (CI), it creates the unprivileged user sandbox-test with a subuid and
# subgid range, builds the tests as root and runs every test binary as that
# user (go test -exec scripts/as-test-user). Then it runs the resource-limit
# tests in a cgroup v2 VM (scripts/test-vm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
export CGO_ENABLED=0
# The OCI runtime-tools runtimetest, run inside a sandbox (built once, cached).
SANDBOX_TEST_RUNTIMETEST=$(scripts/runtimetest.sh)
export SANDBOX_TEST_RUNTIMETEST

if [ "$(id -u)" -ne 0 ]; then
  go test -count=1 -timeout 40m "$@" ./...
  # The cgroup v2 VM needs qemu and a kernel cache that root sets up once.
  if command -v qemu-system-x86_64 >/dev/null && [ -d /var/cache/cgroup2-vm ]; then
    exec scripts/test-vm.sh
  fi
  msg="skipping the cgroup v2 VM tests: run make test once as root to set up qemu and its kernel cache"
  if [ "${SANDBOX_TEST_REQUIRE_ALL:-}" = 1 ]; then echo "FAIL: $msg" >&2; exit 1; fi
  echo "$msg" >&2
  exit 0
fi

user=$(scripts/test-user.sh)
# pasta and slirp4netns open /dev/net/tun, fuse-overlayfs /dev/fuse, as the
# test user; desktops ship them 0666, this host 0600.
chmod 666 /dev/net/tun /dev/fuse
# The Debian minbase image the image tests pull (debootstrap, once, cached).
SANDBOX_TEST_DEBIAN_OCI=$(scripts/test-images.sh)
export SANDBOX_TEST_DEBIAN_OCI

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
go test -count=1 -timeout 40m -exec "$PWD/scripts/as-test-user" "$@" ./...
# The single-id fallback as a user without subordinate ids.
(cd "$src" && scripts/test-nosubid.sh)
# Real cgroup v2 enforcement, in a throwaway VM (this host is hybrid).
(cd "$src" && scripts/test-vm.sh)
