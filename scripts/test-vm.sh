#!/usr/bin/env bash
# Runs the TestCgroupVM tests in a throwaway VM whose only hierarchy is
# cgroup v2 with controllers delegated to uid 1000 (../shared/tools/cgroup2-vm),
# because this project's hosts keep cpu, memory and pids on cgroup v1.
# scripts/test.sh calls it; it needs root the first time (qemu, kernel cache).
set -euo pipefail
cd "$(dirname "$0")/.."
vm=${CGROUP2_VM_SCRIPT:-../shared/tools/cgroup2-vm/run-in-vm.sh}
if [ ! -x "$vm" ] && [ ! -f "$vm" ]; then
  msg="skipping the cgroup v2 VM tests: $vm not found (it comes with ../shared)"
  if [ "${SANDBOX_TEST_REQUIRE_ALL:-}" = 1 ]; then echo "FAIL: $msg" >&2; exit 1; fi
  echo "$msg" >&2; exit 0
fi
payload=$(mktemp -d /tmp/sandbox-vm.XXXXXX)
trap 'rm -rf "$payload"' EXIT
CGO_ENABLED=0 go test -c -o "$payload/cmd.test" ./cmd/sandbox
cp "$payload/cmd.test" "$payload/hog"
cp "$payload/cmd.test" "$payload/forkbomb"
# busybox su (behind as-user) would take the test flags for its own.
cat >"$payload/run-tests" <<'SH'
#!/bin/sh
exec /test/cmd.test -test.run '^TestCgroupVM' -test.v -test.count=1
SH
chmod -R a+rX "$payload"
chmod 755 "$payload/run-tests"
bash "$vm" -t 600 -m 1024 "$payload" -- as-user /test/run-tests
