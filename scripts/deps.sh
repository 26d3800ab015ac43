#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages sandbox needs, only those missing:
#   deps.sh run    what `sandbox run` and `sandbox shell` need
#   deps.sh test   that, plus what the test suite and `make bench` use
# Uses sudo when not root. Other distributions: install the equivalents
# (shadow-utils for newuidmap, procps, util-linux) and skip this script.
set -euo pipefail

pkgs=(uidmap)                                   # newuidmap, newgidmap
[ "${1:-run}" = run ] && pkgs+=(passt fuse-overlayfs)  # network mode slirp; overlay fallback
if [ "${1:-run}" = test ]; then
  pkgs+=(procps util-linux bubblewrap iproute2)   # ps in tests; unshare and bwrap for make bench; ip netns
  pkgs+=(passt slirp4netns iperf3 curl python3)  # the network helpers, their benchmark, clients in tests
  pkgs+=(python3-pytest nodejs)                   # ecosystem projects under sandbox init's profile (pytest, node --test)
  pkgs+=(docker-registry skopeo umoci busybox-static debootstrap)  # images: a real registry, images made by other tools
  pkgs+=(openssh-client xvfb x11-utils xauth gpg-agent gpgconf)  # forwarding tests: real ssh-agent, Xvfb + xdpyinfo, gpg-agent
  pkgs+=(fuse-overlayfs podman runc)             # the overlay fallback; podman (with runc: crun refuses hybrid cgroups) for the image benchmark and checks
  pkgs+=(python3-pytest git strace gdb)           # real workloads under the seccomp filter (security tests)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "sandbox: missing packages ${missing[*]}: install them with your package manager" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "sandbox: host change: installing the packages ${missing[*]} (apt-get; they stay installed)" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
