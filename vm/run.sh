#!/usr/bin/env bash
# Boots the test VM (vm/image.sh's kernel and initramfs) and runs a scenario script inside it.
# The scenario sees this machine's root and the project read-only and <run folder> read-write, each
# at its own path (so the project may be anywhere, /tmp included); it
# is run as `bash <scenario> <run folder>`. The VM's console goes to <run folder>/console.log and
# to stdout; the exit status is the scenario's.
#
# Usage: vm/run.sh <image folder> <run folder> <scenario script> [i2c-stub addresses, e.g. 0x60,0x61]
set -euo pipefail
image=$(cd "${1:?image folder}" && pwd)
mkdir -p "${2:?run folder}"
run_folder=$(cd "$2" && pwd)
scenario=$(cd "$(dirname "${3:?scenario}")" && pwd)/$(basename "$3")
project=$(cd "$(dirname "$0")/.." && pwd)
stub_addresses=${4:-0x60}

accel=(-accel tcg)
if [ "${VM_ACCEL:-}" = kvm ]; then accel=(-accel kvm -cpu host); fi
timeout_s=${VM_TIMEOUT_S:-900}
console="$run_folder/console.log"
set +e
timeout --foreground "$timeout_s" qemu-system-x86_64 "${accel[@]}" -m 3072 -smp 2 -nographic -no-reboot \
  -kernel "$image/vmlinuz" -initrd "$image/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 loglevel=4 aliquot.run=$scenario aliquot.rw=$run_folder aliquot.project=$project aliquot.i2c_stub=$stub_addresses" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$project,mount_tag=project,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$run_folder,mount_tag=rwshare,security_model=none" \
  </dev/null 2>&1 | tee "$console"
qemu_status=${PIPESTATUS[0]}
set -e
[ "$qemu_status" -eq 124 ] && { echo "vm/run.sh: the VM did not finish within ${timeout_s} s" >&2; exit 124; }
status=$(sed -n 's/^VM EXIT STATUS: \([0-9]*\).*/\1/p' "$console" | tail -n 1 | tr -d '\r')
[ -n "$status" ] || { echo "vm/run.sh: the VM stopped without a scenario status (see $console)" >&2; exit 1; }
exit "$status"
