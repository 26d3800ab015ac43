#!/usr/bin/env bash
# Runs the TestCgroupVM tests in a throwaway VM whose only hierarchy is
# cgroup v2 with controllers delegated to uid 1000 (scripts/vm/run.sh),
# because hosts with hybrid cgroups (v1 owning cpu, memory, pids) cannot
# delegate them. scripts/test.sh calls it. The first run needs root (it
# installs qemu and caches a kernel); where the VM cannot run, the tests
# are skipped with the reason, or fail under SANDBOX_TEST_REQUIRE_ALL=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/go-env.sh
cannot() {
  if [ "${SANDBOX_TEST_REQUIRE_ALL:-}" = 1 ]; then echo "FAIL: the cgroup v2 VM tests cannot run: $*" >&2; exit 1; fi
  echo "skipping the cgroup v2 VM tests: $*" >&2; exit 0
}
[ "$(uname -m)" = x86_64 ] || cannot "the VM is x86_64 only, this is $(uname -m)"
if [ "$(id -u)" -ne 0 ]; then
  for tool in qemu-system-x86_64 cpio /bin/busybox; do
    command -v "$tool" >/dev/null || cannot "$tool is missing: run make test once as root (it installs qemu and caches a kernel)"
  done
  ls -d "${SANDBOX_VM_CACHE:-/var/cache/sandbox-test/vm}"/kernel-* >/dev/null 2>&1 ||
    cannot "no guest kernel cached: run make test once as root"
fi
payload=$(mktemp -d /tmp/sandbox-vm.XXXXXX)
trap 'rm -rf "$payload"' EXIT
CGO_ENABLED=0 go test -c -o "$payload/cmd.test" ./cmd/sandbox
# The tests start this binary again as their hog and fork bomb.
ln "$payload/cmd.test" "$payload/hog"
ln "$payload/cmd.test" "$payload/forkbomb"
chmod -R a+rX "$payload"
start=$(date +%s)
rc=0
scripts/vm/run.sh -t 600 -m 1024 "$payload" -- as-user /test/cmd.test -test.run '^TestCgroupVM' -test.v -test.count=1 || rc=$?
echo "cgroup v2 VM tests: exit $rc after $(($(date +%s) - start))s" >&2
exit "$rc"
