#!/usr/bin/env bash
# Finds a Go that can build sandbox, or says what to install. Sourced by the
# scripts (and run by make): any Go from 1.21 on fetches the toolchain that
# go.mod names (its `toolchain` line) from the Go module proxy by itself,
# so GOTOOLCHAIN=auto is set unless you chose otherwise. Debian 12's own
# golang-go is Go 1.19, older than that.
go_missing() {
  local want
  want=$(sed -n 's/^toolchain //p' "$(dirname "${BASH_SOURCE[0]}")/../go.mod")
  echo "sandbox: $1: building sandbox needs Go 1.21 or newer, which fetches the toolchain go.mod names ($want) by itself. Install one:" >&2
  echo "  Debian 12:               apt-get install -t bookworm-backports golang-go   (Go 1.23; add bookworm-backports to the apt sources first)" >&2
  echo "  Ubuntu 24.04, Debian 13: apt-get install golang-go" >&2
  echo "  anywhere:                a release from go.dev/dl, unpacked in /usr/local/go, with /usr/local/go/bin on PATH" >&2
  return 1
}
go_check() {
  local v major minor
  command -v go >/dev/null || { go_missing "Go is not installed (no go on PATH)"; return 1; }
  # Outside the module and with GOTOOLCHAIN=local: the installed Go, not
  # the toolchain it would switch to.
  v=$(cd / && GOTOOLCHAIN=local go version 2>/dev/null | sed -n 's/^go version go\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  read -r major minor <<<"$v"
  if [ -z "$v" ] || [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 21 ]; }; then
    go_missing "$(command -v go) is $(cd / && go version 2>&1 | sed -n 's/^go version go\([^ ]*\).*/Go \1/p;q'), too old"
    return 1
  fi
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  go_check
else
  go_check || exit 1
  export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
fi
