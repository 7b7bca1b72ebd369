#!/usr/bin/env bash
# Builds what `make vmtest` boots: Debian's own kernel (linux-image-6.1, fetched with apt-get download
# and cached) and a small busybox initramfs holding the modules the rig needs. The VM sees this
# machine's root file system read-only over 9p, so the binaries under test run unmodified.
#
# Usage: vm/image.sh <output folder>      (writes vmlinuz, initramfs.cpio.gz there)
set -euo pipefail

out=${1:?usage: vm/image.sh <output folder>}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The kernel the facts were measured with: Debian bookworm's 6.1 (amd64).
kernel_package=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
[ -n "$kernel_package" ] || { echo "vm/image.sh: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
release=${kernel_package#linux-image-}

if [ ! -f "$out/kernel/$release.ok" ]; then
  rm -rf "$out/kernel" && mkdir -p "$out/kernel"
  (cd "$out/kernel" && apt-get download "$kernel_package" >/dev/null 2>&1) ||
    { echo "vm/image.sh: apt-get download $kernel_package failed" >&2; exit 1; }
  dpkg-deb -x "$out"/kernel/*.deb "$out/kernel/root"
  rm -f "$out"/kernel/*.deb
  touch "$out/kernel/$release.ok"
fi
cp "$out/kernel/root/boot/vmlinuz-$release" "$out/vmlinuz"

# The modules the scenario loads, with everything they depend on (from each module's modinfo).
wanted="i2c-dev i2c-stub dummy_hcd libcomposite usb_f_fs usb_f_acm cdc-acm usbhid hid-generic hid-cp2112
        9p 9pnet_virtio virtio_pci configfs"
modules="$out/kernel/root/lib/modules/$release"
initramfs="$out/initramfs"
rm -rf "$initramfs" && mkdir -p "$initramfs"/{bin,dev,proc,sys,host,tmp,lib/modules/$release}
declare -A seen=()
add_module() {
  local name=$1 file depends dep
  [ -n "${seen[$name]:-}" ] && return
  seen[$name]=1
  file=$(find "$modules/kernel" -name "$name.ko" -o -name "${name//-/_}.ko" | head -n 1)
  [ -n "$file" ] || { echo "vm/image.sh: the kernel has no module $name" >&2; exit 1; }
  mkdir -p "$initramfs/lib/modules/$release/$(dirname "${file#$modules/}")"
  cp "$file" "$initramfs/lib/modules/$release/${file#$modules/}"
  depends=$(strings -a "$file" | sed -n 's/^depends=//p' | tr ',' ' ')
  for dep in $depends; do add_module "$dep"; done
}
for name in $wanted; do add_module "$name"; done
cp "$modules"/modules.builtin "$modules"/modules.order "$initramfs/lib/modules/$release/"
busybox depmod -b "$initramfs" "$release"

cp "$(command -v busybox)" "$initramfs/bin/busybox"
for applet in sh mount mkdir modprobe chroot poweroff sleep cat echo ls; do ln -s busybox "$initramfs/bin/$applet"; done
cp "$here/init" "$initramfs/init"
chmod +x "$initramfs/init"
(cd "$initramfs" && find . | cpio -o -H newc --quiet | gzip -1 > "$out/initramfs.cpio.gz")
echo "vm image: $out/vmlinuz ($release), $out/initramfs.cpio.gz (${#seen[@]} modules)"
