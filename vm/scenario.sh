#!/usr/bin/env bash
# Runs inside the test VM (vm/init runs it in this machine's root, read-only, with the run folder
# writable): builds the rig out of real kernel devices, starts aliquot-kernel-twin behind them,
# then runs the unmodified `aliquot run` on vm/board.toml.
#
#   USB gadgets on dummy_hcd (configfs, libcomposite):
#     dummy_udc.0  2457:101E  FunctionFS  absorbance spectrometer  -> libusb on the host side
#     dummy_udc.1  2457:101E  FunctionFS  emission spectrometer    -> libusb
#     dummy_udc.2  10C4:EA90  FunctionFS  CP2112 HID bridge        -> hid-cp2112: gpiochip + I2C adapter
#     dummy_udc.3  1D6B:0104  2 x CDC-ACM pump ports (A)           -> cdc-acm: /dev/ttyACM*
#     dummy_udc.4  1D6B:0104  2 x CDC-ACM pump ports (B)           -> cdc-acm, linked in /dev/serial/by-id
#   i2c-stub at 0x60, 0x61 (vm/init)                               -> i2c-dev: /dev/i2c-0
#
# Usage (inside the VM): scenario.sh <run folder>. <run folder>/env names the binaries
# (ALIQUOT, KERNEL_TWIN) and the campaign (CAMPAIGN) and whether to unplug (UNPLUG=1).
set -uo pipefail
run=${1:?run folder}
source "$run/env"
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "vmtest: $*"; }
die() { echo "vmtest: FAIL: $*"; dmesg | tail -n 40; ls /dev/ttyACM* /dev/ttyGS* /dev/i2c-* /dev/gpiochip* 2>&1 | tr "\n" " "; echo; exit 1; }

gadgets=/sys/kernel/config/usb_gadget
ffs=/run/ffs

# make_gadget <name> <vid> <pid> <product>: a gadget with one configuration.
make_gadget() {
  local g=$gadgets/$1
  mkdir "$g" || die "configfs: mkdir $g"
  echo "$2" > "$g/idVendor"; echo "$3" > "$g/idProduct"
  echo 0x0200 > "$g/bcdUSB"
  mkdir "$g/strings/0x409"
  echo "$4" > "$g/strings/0x409/product"
  mkdir "$g/configs/c.1"
  echo 100 > "$g/configs/c.1/MaxPower"
}

# ffs_function <gadget> <instance>: a FunctionFS function, mounted at $ffs/<instance>.
ffs_function() {
  mkdir "$gadgets/$1/functions/ffs.$2" && ln -s "$gadgets/$1/functions/ffs.$2" "$gadgets/$1/configs/c.1/" ||
    die "configfs: ffs.$2"
  mkdir -p "$ffs/$2" && mount -t functionfs "$2" "$ffs/$2" || die "mount functionfs $2"
}

make_gadget spectrometer-abs 0x2457 0x101E "FLAME-S (twin, absorbance)"
echo "Ocean Optics" > $gadgets/spectrometer-abs/strings/0x409/manufacturer
ffs_function spectrometer-abs abs
make_gadget spectrometer-pl 0x2457 0x101E "FLAME-S (twin, emission)"
echo "Ocean Optics" > $gadgets/spectrometer-pl/strings/0x409/manufacturer
ffs_function spectrometer-pl pl
make_gadget cp2112 0x10C4 0xEA90 "CP2112 HID USB-to-SMBus Bridge"
echo "Silicon Labs" > $gadgets/cp2112/strings/0x409/manufacturer
ffs_function cp2112 cp2112
# The pumps' ports: two CDC-ACM functions on each of two gadgets (a UDC of dummy_hcd has endpoints
# for three). The controller names them as udev would: /dev/serial/by-id/usb-<maker>_<product>_
# <serial>-if<first interface>, two interfaces per function in the order they were linked.
serial_args=()
for side in A B; do
  make_gadget "pumps-$side" 0x1D6B 0x0104 "Pump ports $side"
  echo "Aliquot" > "$gadgets/pumps-$side/strings/0x409/manufacturer"
  echo "VMPUMP$side" > "$gadgets/pumps-$side/strings/0x409/serialnumber"
  interface=0
  for port in $([ $side = A ] && echo "chain oa" || echo "ode solvent"); do
    mkdir "$gadgets/pumps-$side/functions/acm.$port" &&
      ln -s "$gadgets/pumps-$side/functions/acm.$port" "$gadgets/pumps-$side/configs/c.1/" || die "configfs: acm.$port"
    by_id=/dev/serial/by-id/usb-Aliquot_Pump_ports_${side}_VMPUMP$side-if$(printf %02d $interface)
    serial_args+=(--serial "$by_id=/dev/ttyGS$(cat "$gadgets/pumps-$side/functions/acm.$port/port_num")")
    interface=$((interface + 2))
  done
done

# udev, as on the board: libusb follows hotplug through it (an unplugged and replugged
# spectrometer comes back with a new device number) and its 60-serial.rules make the
# /dev/serial/by-id links the board file names.
/lib/systemd/systemd-udevd --daemon || die "systemd-udevd"
udevadm trigger --action=add && udevadm settle --timeout=30 || die "udevadm trigger"

log "starting aliquot-kernel-twin"
"$KERNEL_TWIN" --twin "$here/twin.toml" --board "$here/board.toml" --i2c-stub main \
  --spectrometer abs=$ffs/abs --spectrometer pl=$ffs/pl --cp2112 $ffs/cp2112 "${serial_args[@]}" \
  --ready "$run/twin.ready" > "$run/kernel-twin.log" 2>&1 &
twin_pid=$!
for _ in $(seq 300); do [ -f "$run/twin.ready" ] && break; kill -0 $twin_pid 2>/dev/null || break; sleep 0.1; done
[ -f "$run/twin.ready" ] || { cat "$run/kernel-twin.log"; die "aliquot-kernel-twin did not start"; }

udc=0
for gadget in spectrometer-abs spectrometer-pl cp2112 pumps-A pumps-B; do
  echo "dummy_udc.$udc" > "$gadgets/$gadget/UDC" || die "bind $gadget to dummy_udc.$udc"
  udc=$((udc + 1))
done

# Wait for the host side: both spectrometers enumerated, the bridge's gpiochip and I2C adapter,
# four ttyACM ports.
wait_for() { for _ in $(seq 200); do eval "$1" && return 0; sleep 0.1; done; die "timed out waiting for: $2"; }
spectrometers() { grep -l '^2457$' /sys/bus/usb/devices/*/idVendor 2>/dev/null | wc -l; }
wait_for '[ "$(spectrometers)" -eq 2 ]' "two 2457:101E devices"
wait_for '[ -e /dev/ttyACM3 ]' "/dev/ttyACM0..3"
wait_for '[ -L /dev/serial/by-id/usb-Aliquot_Pump_ports_B_VMPUMPB-if02 ]' "udev's /dev/serial/by-id links"
wait_for 'grep -qs "^CP2112" /sys/bus/i2c/devices/i2c-1/name' "the CP2112's I2C adapter as i2c-1"
wait_for 'grep -qs cp2112 /sys/kernel/debug/gpio' "the CP2112's gpiochip"

log "kernel devices:"
echo "  /dev/i2c-0: $(cat /sys/bus/i2c/devices/i2c-0/name)"
echo "  /dev/i2c-1: $(cat /sys/bus/i2c/devices/i2c-1/name)"
grep cp2112 /sys/kernel/debug/gpio | sed 's/^/  /'
for device in /sys/bus/usb/devices/*; do
  [ -f "$device/idVendor" ] || continue
  vendor=$(cat "$device/idVendor"); product=$(cat "$device/idProduct")
  [ "$vendor" = 1d6b ] && [ "$product" != 0104 ] && continue  # the root hubs
  endpoints=$(ls -d "$device"/*:1.*/ep_* 2>/dev/null | sed 's/.*ep_/0x/' | tr '\n' ' ')
  drivers=$(for d in "$device"/*:1.*/driver; do [ -e "$d" ] && basename "$(readlink "$d")"; done | sort -u | tr '\n' ' ')
  echo "  usb $(basename "$device") $vendor:$product /dev/bus/usb/$(printf %03d "$(cat "$device/busnum")")/$(printf %03d "$(cat "$device/devnum")") endpoints: $endpoints drivers: ${drivers:-none (libusb)}"
done
for link in /dev/serial/by-id/*; do
  tty=$(basename "$(readlink "$link")")
  echo "  $link -> /dev/$tty: $(basename "$(readlink "/sys/class/tty/$tty/device/driver")")"
done

# The tuned gains of the twin's plant, and the journal and results on the VM's own tmpfs: SQLite's
# WAL needs shared memory maps, which the 9p share does not give. Copied out at the end.
state=/tmp/aliquot-state
mkdir -p "$state"
sed 's/^board = .*/board = "vm"/' "$here/../Tests/Fixtures/sim.tuned.toml" > "$state/vm.tuned.toml"

unplugger=""
if [ "${UNPLUG:-0}" = 1 ]; then
  (
    until grep -q "sample valve pulse 2 " "$run/kernel-twin.log"; do sleep 0.5; done
    sleep 1
    log "unplugging the absorbance spectrometer (unbinding its gadget)"
    echo "" > $gadgets/spectrometer-abs/UDC
    sleep 4
    log "plugging it back in"
    echo dummy_udc.0 > $gadgets/spectrometer-abs/UDC
  ) &
  unplugger=$!
fi

log "running: aliquot run --board vm/board.toml $(basename "$CAMPAIGN")"
cd /tmp
ALIQUOT_STATE_DIR="$state" "$ALIQUOT" run --board "$here/board.toml" "$CAMPAIGN" --out /tmp/results \
  --model "$here/../Firmware/models/cdse-absorbance.aqm" > "$run/aliquot.log" 2>&1 &
aliquot_pid=$!
# What the controller holds open is the proof that it runs on kernel devices: sampled every
# second (libusb opens a spectrometer when it first measures).
while kill -0 $aliquot_pid 2>/dev/null; do
  ls -l /proc/$aliquot_pid/fd 2>/dev/null | sed -n 's/.* -> \(\/dev\/.*\)/\1/p'
  sleep 1
done | sort -u > "$run/open-devices.txt"
wait $aliquot_pid
status=$?
# An unplug that never came (the campaign ended before the second aliquot) is not waited for.
[ -n "$unplugger" ] && { kill "$unplugger" 2>/dev/null; wait "$unplugger" 2>/dev/null; }
cat "$run/aliquot.log"
log "aliquot run exited with $status"
log "device nodes aliquot held open: $(tr '\n' ' ' < "$run/open-devices.txt")"
cp -r /tmp/results "$run/results" 2>/dev/null
cp "$state"/*.sqlite "$run/" 2>/dev/null
kill $twin_pid 2>/dev/null
sleep 0.2
cat "$run/kernel-twin.log"
echo "$status" > "$run/aliquot.status"
exit 0
