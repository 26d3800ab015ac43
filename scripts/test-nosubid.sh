#!/usr/bin/env bash
# The single-id fallback, for real: a second unprivileged user without any
# /etc/subuid or /etc/subgid range runs a sandbox (scripts/test.sh calls
# this as root). It must work, map only the user's own id, and doctor must
# warn about it.
set -euo pipefail
cd "$(dirname "$0")/.."
user=sandbox-nosub
if ! id "$user" >/dev/null 2>&1; then
  echo "sandbox: host change: creating the user $user without subordinate ids (useradd; it stays)" >&2
  useradd --create-home --shell /bin/bash "$user"
fi
for f in /etc/subuid /etc/subgid; do
  grep -q "^$user:" "$f" && echo "sandbox: host change: removing $user's range from $f" >&2
  sed -i "/^$user:/d" "$f"
done
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

# Images without subordinate ids: the degraded mode. Every file belongs to
# root inside; pull says so.
layout=$(scripts/test-images.sh)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$dir/registry" "$port" >"$dir/registry.yml"
docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
registry=$!
trap 'kill $registry 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
skopeo copy -q --dest-tls-verify=false "oci:$layout:minbase" "docker://127.0.0.1:$port/debian:minbase"
ref=127.0.0.1:$port/debian:minbase
out=$(run pull --tls-verify=false "$ref" 2>&1) || fail "pull failed: $out"
grep -q "warning: every file of an image belongs to root inside" <<<"$out" || fail "pull does not warn about the degraded mode: $out"
out=$(run run --tls-verify=false --image "$ref" -- sh -c 'id -u; stat -c "%u:%g" /etc/shadow; echo x > /root/f && cat /root/f') ||
  fail "run on an image failed: $out"
[ "$out" = $'0\n0:0\nx' ] || fail "inside the image in degraded mode: $out"
run reset >/dev/null 2>&1 || fail "reset failed"
run prune --all >/dev/null 2>&1 || fail "prune --all failed"
left=$(find "/home/$user/.local/share/sandbox/images/layers" -mindepth 2 | wc -l)
[ "$left" = 0 ] || fail "prune --all left $left entries"
echo "degraded images test passed: pull warns, files owned by root inside, reset and prune clean up"
