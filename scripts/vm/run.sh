#!/usr/bin/env bash
# Boots a throwaway QEMU guest whose only cgroup hierarchy is cgroup v2, with
# cpu, io, memory and pids delegated to uid 1000 the way systemd delegates
# them, and runs one command in it. The resource-limit tests need this:
# hosts with hybrid cgroups (v1 owning cpu, memory, pids) cannot delegate a
# v2 controller, and a test must not touch the host's cgroup mounts.
#
#   scripts/vm/run.sh [-t SECONDS] [-m MIB] [-v] PAYLOAD -- COMMAND [ARG...]
#
# PAYLOAD, a directory of static binaries (CGO_ENABLED=0), becomes /test in
# the guest: the working directory, first on PATH. COMMAND runs there as
# root; `as-user CMD` (scripts/vm/as-user) runs CMD as uid 1000 in a scope
# of its own under the delegated subtree. The guest is Debian's kernel and
# busybox; newuidmap/newgidmap come from this host; only lo exists.
# COMMAND's stdout, stderr and exit status become ours; 124 means the guest
# timed out, 125 that the VM itself failed.
#
# The first run, as root, installs what is missing (qemu-system-x86, cpio,
# busybox-static, uidmap) and caches the kernel package in $SANDBOX_VM_CACHE
# (default /var/cache/sandbox-test/vm); later runs work as any user.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "vm: $*" >&2; exit 125; }
say() { echo "vm: $*" >&2; }

timeout_s=300 mem=1024 verbose=0
while getopts ':t:m:v' opt; do
  case $opt in
    t) timeout_s=$OPTARG ;;
    m) mem=$OPTARG ;;
    v) verbose=1 ;;
    *) die "usage: $0 [-t SECONDS] [-m MIB] [-v] PAYLOAD -- COMMAND [ARG...]" ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || die "usage: $0 [-t SECONDS] [-m MIB] [-v] PAYLOAD -- COMMAND [ARG...]"
payload=$1; shift
[ "$1" = -- ] && shift
[ -d "$payload" ] || die "payload $payload is not a directory"
[ $# -ge 1 ] || die "no COMMAND to run in the guest"
cache=${SANDBOX_VM_CACHE:-/var/cache/sandbox-test/vm}
modules="overlay fuse tun veth" # what sandbox's mounts and networks load

# --- host prerequisites: each install is announced ---
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
# (No pipe into grep -q: under pipefail, busybox's SIGPIPE would count.)
[ -x /bin/busybox ] && grep -qx depmod < <(/bin/busybox --list) || need+=(busybox-static)
[ -x /usr/bin/newuidmap ] || need+=(uidmap)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "missing ${need[*]}: run this once as root, or apt-get install ${need[*]}"
  say "installing ${need[*]} (apt-get; they stay installed)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    die "apt-get install ${need[*]} failed"
fi

# --- the guest kernel: Debian's, unpacked once, never installed ---
# extract_vmlinux DIR: DIR/vmlinux from the xz stream inside DIR/vmlinuz
# (what the kernel's scripts/extract-vmlinux does). QEMU boots the ELF
# through its PVH entry, skipping the decompressor, which costs seconds
# under software emulation. Without it, the bzImage boots.
extract_vmlinux() {
  local off
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1/vmlinuz" | head -n 1 | cut -d: -f1 || true)
  [ -n "$off" ] || return 0
  # (Not a pipe: tail dies of SIGPIPE when xz stops at the stream's end.)
  if xz -dc --single-stream < <(tail -c +$((off + 1)) "$1/vmlinuz") >"$1/vmlinux.new" 2>/dev/null &&
    [ "$(head -c 4 "$1/vmlinux.new" | od -An -c | tr -d ' ')" = 177ELF ]; then
    mv "$1/vmlinux.new" "$1/vmlinux"
  else
    rm -f "$1/vmlinux.new"
  fi
}
kernel_dir() { { ls -d "$cache"/kernel-*/ 2>/dev/null || true; } | sort -V | tail -n 1; }
kdir=$(kernel_dir)
if [ -z "$kdir" ]; then
  [ "$(id -u)" -eq 0 ] || die "no kernel cached in $cache: run this once as root (or set SANDBOX_VM_CACHE to a directory of yours)"
  mkdir -p "$cache"
  exec 9<"$cache"
  flock 9 # another run may be fetching it
  kdir=$(kernel_dir)
  if [ -z "$kdir" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [ -n "$pkg" ] || { apt-get update -qq >&2; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); }
    [ -n "$pkg" ] || die "no package behind linux-image-amd64 (apt-cache depends linux-image-amd64)"
    say "caching the guest kernel $pkg in $cache (downloaded, not installed)"
    tmp=$(mktemp -d "$cache/fetch.XXXXXX")
    chmod 755 "$tmp" # apt-get download drops root to _apt
    (cd "$tmp" && apt-get download -q "$pkg" >/dev/null) || { rm -rf "$tmp"; die "apt-get download $pkg failed"; }
    dpkg-deb -x "$tmp"/*.deb "$tmp/x" || { rm -rf "$tmp"; die "unpacking $pkg failed"; }
    ver=$(ls "$tmp/x/lib/modules")
    /bin/busybox depmod -b "$tmp/x" "$ver" || { rm -rf "$tmp"; die "depmod $ver failed"; }
    mkdir "$tmp/k"
    mv "$tmp/x/boot/vmlinuz-$ver" "$tmp/k/vmlinuz"
    extract_vmlinux "$tmp/k"
    mkdir -p "$tmp/k/lib/modules"
    mv "$tmp/x/lib/modules/$ver" "$tmp/k/lib/modules/"
    chmod -R a+rX "$tmp/k"
    mv "$tmp/k" "$cache/kernel-$ver"
    rm -rf "$tmp"
    kdir=$cache/kernel-$ver
  fi
  exec 9<&-
fi
kdir=${kdir%/}
kernel=$kdir/vmlinuz
[ -f "$kdir/vmlinux" ] && kernel=$kdir/vmlinux
moddir=$(ls -d "$kdir"/lib/modules/*)
kver=$(basename "$moddir")

# --- the guest's root: an initramfs ---
work=$(mktemp -d "${TMPDIR:-/tmp}/sandbox-vm.XXXXXX")
qemu=
cleanup() { [ -n "$qemu" ] && kill "$qemu" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,proc,sys,dev,tmp,run,root,home/user,test}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
cp "$here/as-user" "$root/usr/local/bin/as-user"
chmod 755 "$root/init" "$root/usr/local/bin/as-user"
cp -a "$payload/." "$root/test/"

# newuidmap and newgidmap with their libraries, at the same paths. Setuid
# root in the guest (cpio makes root the owner): a copy made by a user
# has lost the bit.
for b in /usr/bin/newuidmap /usr/bin/newgidmap; do
  cp "$b" "$root$b"
  chmod 4755 "$root$b"
  for lib in $(ldd "$b" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")" && cp -Ln "$lib" "$root$lib"
  done
done

# The modules and their dependencies, with a modules.dep of just those.
dep=$root/lib/modules/$kver/modules.dep
mkdir -p "$(dirname "$dep")"
for m in $modules; do
  line=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep") || die "kernel $kver has no module $m"
  for f in ${line/:/}; do
    mkdir -p "$root/lib/modules/$kver/$(dirname "$f")"
    cp -n "$moddir/$f" "$root/lib/modules/$kver/$f"
  done
  grep -qxF "$line" "$dep" 2>/dev/null || echo "$line" >>"$dep"
done
for f in $(cut -d: -f2 "$dep"); do grep -q "^$f:" "$dep" || grep "^$f:" "$moddir/modules.dep" >>"$dep"; done
echo "$modules" >"$root/etc/vm-modules"

printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:1000:test user:/home/user:/bin/sh' \
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'tty:x:5:' 'user:x:1000:' 'nogroup:x:65534:' >"$root/etc/group"
echo 'user:100000:65536' >"$root/etc/subuid"
echo 'user:100000:65536' >"$root/etc/subgid"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$root/etc/hosts"
# The command as a script: each argument single-quoted.
{
  echo '#!/bin/sh'
  printf 'exec'
  for a in "$@"; do printf " '%s'" "${a//\'/\'\\\'\'}"; done
  echo
} >"$root/etc/vm-command"
chmod 755 "$root/etc/vm-command"
(cd "$root" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$work/initramfs" ||
  die "building the initramfs failed"

# --- boot ---
# No /dev/kvm here (or only nested PVM, where a stock kernel crawls), so
# software emulation. One host thread for every vCPU: multi-threaded TCG
# hung the guest when the kernel patched its own text (static keys, on the
# first write to cpu.max).
accel=(-accel tcg,thread=single -cpu max)
if [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
  accel=(-accel kvm -cpu host)
fi
for f in console stdout stderr status; do : >"$work/$f"; done
start=$(date +%s)
timeout -k 5 "$timeout_s" qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none \
  -no-reboot -machine pc "${accel[@]}" -smp 2 -m "$mem" \
  -kernel "$kernel" -initrd "$work/initramfs" \
  -append "console=ttyS0 quiet panic=-1" \
  -serial "file:$work/console" -serial "file:$work/stdout" -serial "file:$work/stderr" -serial "file:$work/status" \
  </dev/null >"$work/qemu.log" 2>&1 &
qemu=$!
# Stream the guest's output as it comes.
tail -s 0.2 --pid="$qemu" -c +1 -f "$work/stdout" &
tails=($!)
tail -s 0.2 --pid="$qemu" -c +1 -f "$work/stderr" >&2 &
tails+=($!)
if [ "$verbose" = 1 ]; then tail -s 0.2 --pid="$qemu" -c +1 -f "$work/console" >&2 & tails+=($!); fi
rc=0
wait "$qemu" || rc=$?
qemu=
wait "${tails[@]}" || true
took=$(($(date +%s) - start))
status=$(tr -dc 0-9 <"$work/status")
if [ "$rc" = 124 ] || [ "$rc" = 137 ] || [ -z "$status" ]; then
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then say "the guest timed out after ${timeout_s}s (-t raises it)"; else say "the guest stopped without an exit status (qemu: $rc)"; fi
  sed 's/^/  qemu: /' "$work/qemu.log" | tail -n 20 >&2
  sed 's/^/  console: /' "$work/console" | tail -n 30 >&2
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && exit 124
  exit 125
fi
[ "$verbose" = 1 ] && say "guest exit $status after ${took}s (kernel $kver, ${accel[1]})"
exit "$status"
