#!/usr/bin/env bash
# Judges a VM run (vm/scenario.sh's run folder) and fails unless the controller really ran on the
# kernel devices and the campaign ended as it must:
#   - aliquot held open /dev/gpiochip*, both /dev/i2c-*, the spectrometers' /dev/bus/usb nodes
#     and the four /dev/ttyACM* pump ports (none of it can be a simulator: the board's transport
#     is linux, and these are the nodes);
#   - every device saw traffic in the kernel twin (spectrometer commands, CP2112 SMBus transfers,
#     bytes on every pump port);
#   - normal: the experiment completed with all its aliquots; unplug: the first experiment failed
#     naming the absorbance spectrometer, which was enumerated twice, and the second completed.
#
# Usage: vm/check.sh <run folder> normal|unplug
set -uo pipefail
run=${1:?run folder}
kind=${2:?normal or unplug}
failures=0
check() { if eval "$1"; then echo "  ok: $2"; else echo "  FAILED: $2"; failures=$((failures + 1)); fi; }
echo "vmtest $kind ($run):"

opened="$run/open-devices.txt"
check '[ -s "$opened" ]' "aliquot's open device nodes were recorded"
check 'grep -q "^/dev/gpiochip" "$opened"' "GPIO through a gpiochip (hid-cp2112)"
check 'grep -q "^/dev/i2c-0$" "$opened"' "thermocouples through /dev/i2c-0 (i2c-stub)"
check 'grep -q "^/dev/i2c-1$" "$opened"' "pressure sensor through /dev/i2c-1 (the CP2112's adapter)"
check '[ "$(grep -c "^/dev/bus/usb/" "$opened")" -ge 2 ]' "two spectrometers through usbfs (libusb)"
check '[ "$(grep -c "^/dev/ttyACM" "$opened")" -eq 4 ]' "four pump ports through cdc-acm"

last=$(grep ' t=[0-9]*s ' "$run/kernel-twin.log" | tail -n 1)
check '[ -n "$last" ]' "the kernel twin reported its traffic"
check '[[ "$last" =~ abs:\ [1-9][0-9]*\ cmds ]]' "the absorbance gadget received commands"
check '[[ "$last" =~ pl:\ [1-9][0-9]*\ cmds ]]' "the emission gadget received commands"
check '[[ "$last" =~ cp2112:\ [0-9]+\ ctrl\ [1-9][0-9]*\ smbus ]]' "the CP2112 ran SMBus transfers"
check '[[ "$last" =~ serial:\ [1-9][0-9]*/[1-9][0-9]*\ [1-9][0-9]*/[1-9][0-9]*\ [1-9][0-9]*/[1-9][0-9]*\ [1-9][0-9]*/[1-9][0-9]* ]]' "every pump port carried commands and replies"
check '! grep -q "problem:" "$run/kernel-twin.log"' "the kernel twin logged no problems"

experiments="$run/results/experiments.csv"
check '[ -f "$experiments" ]' "the results folder has experiments.csv"
outcome() { sed -n "$(($1 + 1))p" "$experiments" | cut -d, -f7; }
if [ "$kind" = normal ]; then
  check '[ "$(cat "$run/aliquot.status")" = 0 ]' "aliquot run exited 0"
  check '[ "$(outcome 1)" = completed ]' "the experiment completed"
  check '[ "$(sed -n 2p "$experiments" | cut -d, -f9)" = 3 ]' "all three aliquots were taken"
else
  check '[ "$(outcome 1)" = failed ]' "the experiment with the unplug failed"
  check 'sed -n 2p "$experiments" | grep -q "spectrometer.abs"' "its reason names spectrometer.abs"
  check '[ "$(outcome 2)" = completed ]' "the next experiment completed"
  check '[[ "$last" =~ abs:\ [0-9]+\ cmds\ [0-9]+\ msgs\ 2\ enables ]]' "the absorbance gadget was enumerated again"
fi
if [ $failures -gt 0 ]; then
  echo "vmtest $kind: $failures check(s) failed (logs in $run)"
  exit 1
fi
echo "vmtest $kind: passed"
