#!/usr/bin/env bash
# `make bench`: start-up medians of sandbox against bwrap and unshare,
# network throughput, image pull+unpack against podman and skopeo+umoci. A
# rootless tool is measured rootless: as root, this runs as sandbox-test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/go-env.sh
scripts/deps.sh test
export CGO_ENABLED=0
dir=$(mktemp -d /tmp/sandbox-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/bench" ./bench
cp bin/sandbox bin/sandbox-init "$dir/"
chmod -R a+rX "$dir"
cd "$dir"
if [ "$(id -u)" -eq 0 ]; then
  # As root: run as the unprivileged test user, in a network namespace of
  # our own (loopback plus a veth sink, as scripts/as-test-user makes), so
  # that the network benchmark sends nothing off this machine.
  user=$("$OLDPWD/scripts/test-user.sh")
  . "$OLDPWD/scripts/devices.sh"
  trap 'restore_devices; rm -rf "$dir"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  open_devices /dev/net/tun
  debian=$("$OLDPWD/scripts/test-images.sh")
  netns=sandbox-bench-$$
  ip netns add "$netns"
  trap 'restore_devices; rm -rf "$dir"; ip netns delete "$netns" 2>/dev/null' EXIT
  ip -n "$netns" link set lo up
  ip -n "$netns" link add sbxsink0 type veth peer name sbxsink1
  ip -n "$netns" addr add 192.0.2.200/24 dev sbxsink0
  ip -n "$netns" link set sbxsink0 up
  ip -n "$netns" link set sbxsink1 up
  ip -n "$netns" route add default via 192.0.2.1 dev sbxsink0
  uid=$(id -u "$user")
  mkdir -p "/run/user/$uid" && chown "$user:" "/run/user/$uid" && chmod 700 "/run/user/$uid"
  # nsenter: only the network namespace changes (podman's runtime needs
  # the host's /sys/fs/cgroup, which `ip netns exec` would hide).
  nsenter --net="/run/netns/$netns" runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" XDG_RUNTIME_DIR="/run/user/$uid" "$dir/bench" -sandbox "$dir/sandbox" -debian-oci "$debian" "$@"
  exit
fi
# As a user, the network benchmark would run in your own network namespace:
# it talks only to loopback, but runs pasta with its gateway; opt in with
# -net-rounds N. The image benchmark runs if root built the Debian image.
debian=/var/cache/sandbox-test/debian-oci
[ -f "$debian/index.json" ] || debian=
exec "$dir/bench" -sandbox "$dir/sandbox" -net-rounds 0 -debian-oci "$debian" "$@"
