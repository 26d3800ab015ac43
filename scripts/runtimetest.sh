#!/usr/bin/env bash
# Builds (once) the OCI runtime-tools `runtimetest` from its Go module, at
# the versions pinned in scripts/runtimetest/go.{mod,sum}, for the test that
# runs it inside a sandbox (TestRuntimeTest). Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/runtimetest"
cache=${SANDBOX_TEST_CACHE:-/var/cache/sandbox-test}
[ -w "$cache" ] || [ -w "$(dirname "$cache")" ] || cache=${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-test
bin=$cache/runtimetest-$(sha256sum go.sum | cut -c1-12)
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  CGO_ENABLED=0 go build -o "$bin.tmp" github.com/opencontainers/runtime-tools/cmd/runtimetest
  chmod a+rx "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
