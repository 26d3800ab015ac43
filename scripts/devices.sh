# Sourced by scripts/test.sh and scripts/bench.sh, as root: opens device
# nodes to every user for the run and puts their modes back when the
# script ends, however it ends. pasta and slirp4netns open /dev/net/tun,
# fuse-overlayfs /dev/fuse, as the unprivileged test user; desktops ship
# both 0666, some hosts 0600.
opened_devices=()

# open_devices DEV...: chmod 0666 each DEV that is not already, saying so.
open_devices() {
  local dev mode
  for dev in "$@"; do
    [ -e "$dev" ] || continue
    mode=$(stat -c %a "$dev")
    [ "$mode" = 666 ] && continue
    echo "sandbox: host change: chmod 666 $dev (was $mode) for this run; restored at its end" >&2
    opened_devices+=("$dev:$mode")
    chmod 666 "$dev"
  done
}

# restore_devices: back to the modes open_devices found.
restore_devices() {
  local d
  for d in ${opened_devices[@]+"${opened_devices[@]}"}; do
    chmod "${d##*:}" "${d%:*}" && echo "sandbox: host change undone: chmod ${d##*:} ${d%:*}" >&2
  done
  opened_devices=()
}
