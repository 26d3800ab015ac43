#!/usr/bin/env bash
# Creates (if needed) the unprivileged user that tests and benchmarks run
# as when invoked by root, with a subuid/subgid range and a runtime dir.
# Prints the user's name.
set -euo pipefail
user=sandbox-test
if ! id "$user" >/dev/null 2>&1; then
  echo "sandbox: host change: creating the user $user (useradd; it stays)" >&2
  useradd --create-home --shell /bin/bash "$user"
fi
for f in /etc/subuid /etc/subgid; do
  if ! grep -q "^$user:" "$f" 2>/dev/null; then
    flag=--add-subuids; [ "$f" = /etc/subgid ] && flag=--add-subgids
    echo "sandbox: host change: giving $user the range 200000-265535 in $f" >&2
    usermod "$flag" 200000-265535 "$user"
  fi
done
echo "$user"
