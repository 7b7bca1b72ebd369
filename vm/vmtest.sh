#!/usr/bin/env bash
# `make vmtest`: boots the test VM twice and judges each run (vm/README.md):
#   normal  one short experiment on the kernel devices (vm/campaign.toml);
#   unplug  two experiments; the absorbance spectrometer's gadget is unbound mid-experiment and
#           bound again (vm/campaign-unplug.toml).
# Usage: vm/vmtest.sh <folder holding the release aliquot and aliquot-kernel-twin>
set -uo pipefail
bin=$(cd "${1:?folder of the release binaries}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work="$root/.build-vm"
for binary in aliquot aliquot-kernel-twin; do
  [ -x "$bin/$binary" ] || { echo "vmtest: $bin/$binary is missing (make vmtest builds it)" >&2; exit 1; }
done
bash "$here/image.sh" "$work/image" || exit 1

status=0
run_one() {
  local name=$1 campaign=$2 unplug=$3 started=$SECONDS
  local folder="$work/run-$name"
  rm -rf "$folder" && mkdir -p "$folder"
  printf 'ALIQUOT=%s\nKERNEL_TWIN=%s\nCAMPAIGN=%s\nUNPLUG=%s\n' \
    "$bin/aliquot" "$bin/aliquot-kernel-twin" "$here/$campaign" "$unplug" > "$folder/env"
  echo "vmtest: booting the VM for the $name run"
  if ! bash "$here/run.sh" "$work/image" "$folder" "$here/scenario.sh" 0x60,0x61 > "$folder/vm-output.log" 2>&1; then
    tail -n 60 "$folder/vm-output.log"
    echo "vmtest $name: the VM run failed (console in $folder/console.log)"
    status=1
    return
  fi
  grep -E '^(vmtest:|  /dev/|  usb |  gpiochip|\[[0-9]+/[0-9]+\] expt .*(completed|failed)|[0-9]+ of [0-9]+ experiments)' "$folder/vm-output.log" |
    grep -v '^\[[0-9]*/[0-9]*\] expt .* · ' || true
  bash "$here/check.sh" "$folder" "$name" || status=1
  echo "vmtest $name: $((SECONDS - started)) s including the boot"
}
run_one normal campaign.toml 0
run_one unplug campaign-unplug.toml 1
exit $status
