#!/usr/bin/env bash
# The single-id fallback, for real: a second unprivileged user without any
# /etc/subuid or /etc/subgid range runs a sandbox (scripts/test.sh calls
# this as root). It must work, map only the user's own id, and doctor must
# warn about it.
set -euo pipefail
cd "$(dirname "$0")/.."
user=sandbox-nosub
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
for f in /etc/subuid /etc/subgid; do sed -i "/^$user:/d" "$f"; done
uid=$(id -u "$user")
dir=$(mktemp -d /tmp/sandbox-nosub.XXXXXX)
trap 'rm -rf "$dir"' EXIT
CGO_ENABLED=0 go build -o "$dir/sandbox" ./cmd/sandbox
mkdir "$dir/proj"
chown "$user:" "$dir/proj"
chmod 755 "$dir"
run() { (cd "$dir/proj" && runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME="/home/$user" "$dir/sandbox" "$@"); }
fail() { echo "FAIL: single-id fallback: $*" >&2; exit 1; }

out=$(run run -- sh -c 'id -u; cat /proc/self/uid_map; touch made-inside') || fail "sandbox run failed: $out"
[ "$(echo "$out" | head -1)" = "$uid" ] || fail "id -u inside is not $uid: $out"
[ "$(echo "$out" | sed -n 2p | awk '{print $3}')" = 1 ] || fail "more than one id mapped: $out"
[ "$(stat -c %u "$dir/proj/made-inside")" = "$uid" ] || fail "a file made inside is not owned by $user"
doctor=$(run doctor) || fail "doctor exits non-zero without subordinate ids: $doctor"
grep -q "^warn  subuid.*no range for $user" <<<"$doctor" || fail "doctor does not warn about subuid: $doctor"
echo "single-id fallback test passed (user $user, no subuid/subgid): run, ownership, doctor warning"
