#!/usr/bin/env bash
# `make shell`: on a fresh Debian or Ubuntu machine, installs what sandbox
# needs (uidmap, via sudo when not root), builds it, shows what the host
# offers, and opens a sandbox shell in this repository on the built-in
# default profile. Pass arguments to run a command instead:
#   scripts/quickstart.sh run -- go version
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/go-env.sh
scripts/deps.sh run
make --no-print-directory build >/dev/null
bin/sandbox doctor || true
echo
if [ $# -eq 0 ]; then
  exec bin/sandbox shell
fi
exec bin/sandbox "$@"
