#!/usr/bin/env bash
# Builds (once, as root) the real images the image tests and `make bench`
# pull: a Debian bookworm minbase made by debootstrap, packed as an OCI
# image layout by umoci. Cached under /var/cache/sandbox-test; prints the
# layout's path (its tag is "minbase").
set -euo pipefail
cache=${SANDBOX_TEST_CACHE:-/var/cache/sandbox-test}
layout=$cache/debian-oci
if [ -f "$layout/index.json" ] && grep -q minbase "$layout/index.json"; then
  echo "$layout"; exit 0
fi
echo "sandbox: host change: building the Debian test image once (debootstrap, about a minute) into $layout" >&2
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The machine's own mirror (its apt sources), not a hard-coded public one.
mirror=$("$(dirname "$0")/apt-mirror.sh" bookworm)
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
umoci init --layout "$work/oci"
umoci new --image "$work/oci:minbase"
umoci unpack --image "$work/oci:minbase" "$work/bundle" >/dev/null
rm -rf "$work/bundle/rootfs"
mv "$work/rootfs" "$work/bundle/rootfs"
umoci repack --image "$work/oci:minbase" "$work/bundle"
umoci config --image "$work/oci:minbase" --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.cmd /bin/bash
umoci gc --layout "$work/oci"
chmod -R a+rX "$work/oci"
rm -rf "$layout"
mv "$work/oci" "$layout"
echo "$layout"
