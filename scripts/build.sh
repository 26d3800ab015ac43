#!/usr/bin/env bash
# Builds bin/sandbox and, beside it, bin/sandbox-init: the sandbox's init
# and payload stage without the CLI's packages (cmd/sandbox-init). The
# CLI is linked with the init's Go build ID and execs it only while the
# file beside it is that build (sandbox/initbin_linux.go); without it,
# or with another build there, sandbox starts itself as init.
#   scripts/build.sh [OUTDIR] [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin}
version=${2:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
export CGO_ENABLED=0
mkdir -p "$out"
go build -trimpath -ldflags "-s -w" -o "$out/sandbox-init.new" ./cmd/sandbox-init
id=$(go tool buildid "$out/sandbox-init.new")
go build -trimpath -ldflags "-s -w -X main.version=$version -X sandbox/sandbox.initBuildID=$id" -o "$out/sandbox.new" ./cmd/sandbox
# The CLI first: an old CLI beside the new init ignores it.
mv -f "$out/sandbox.new" "$out/sandbox"
mv -f "$out/sandbox-init.new" "$out/sandbox-init"
