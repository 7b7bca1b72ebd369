#!/bin/sh
# Builds the aliquot Debian package for this machine's architecture from a release binary.
#   deploy/make-deb.sh <release-binary> <output-dir>
# The package: the binary, the systemd unit, the udev rules, a system user (made by postinst),
# config in /etc/aliquot, data in /var/lib/aliquot, the shipped model bundles, board files,
# campaigns and the device-tree overlay. Runtime dependencies are the packages that own the
# shared libraries the binary links (libgpiod, libusb, libi2c, libsqlite3, libcurl).
set -eu
binary=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/deploy/debian/VERSION" 2>/dev/null || true)
[ -n "$version" ] || version=0.1.0
if commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then version="$version+git$commit"; fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/aliquot"

install -D -m 0755 "$binary" "$pkg/usr/bin/aliquot"
install -D -m 0644 "$root/deploy/systemd/aliquot.service" "$pkg/lib/systemd/system/aliquot.service"
install -D -m 0644 "$root/deploy/udev/60-aliquot.rules" "$pkg/lib/udev/rules.d/60-aliquot.rules"
install -D -m 0644 "$root/Boards/rpi5-reactor-hat.toml" "$pkg/etc/aliquot/board.toml"
install -D -m 0644 "$root/campaigns/demo.toml" "$pkg/etc/aliquot/campaign.toml"
install -D -m 0640 /dev/null "$pkg/etc/aliquot/uplink.token"
for board in "$root"/Boards/*.toml; do install -D -m 0644 "$board" "$pkg/usr/share/aliquot/boards/$(basename "$board")"; done
for campaign in "$root"/campaigns/*.toml; do install -D -m 0644 "$campaign" "$pkg/usr/share/aliquot/campaigns/$(basename "$campaign")"; done
for model in "$root"/Firmware/models/*.aqm; do install -D -m 0644 "$model" "$pkg/usr/share/aliquot/models/$(basename "$model")"; done
install -D -m 0644 "$root/Firmware/overlays/aliquot-reactor-hat.dts" "$pkg/usr/share/aliquot/overlays/aliquot-reactor-hat.dts"
install -D -m 0644 "$root/Firmware/overlays/config.txt" "$pkg/usr/share/aliquot/overlays/config.txt"
if command -v dtc >/dev/null 2>&1; then
  dtc -q -@ -I dts -O dtb -o "$pkg/usr/share/aliquot/overlays/aliquot-reactor-hat.dtbo" "$root/Firmware/overlays/aliquot-reactor-hat.dts"
fi
install -D -m 0644 "$root/README.md" "$pkg/usr/share/doc/aliquot/README.md"
install -D -m 0644 "$root/deploy/README.md" "$pkg/usr/share/doc/aliquot/deploy.md"
install -d -m 0750 "$pkg/var/lib/aliquot"

# Depends: the package owning each shared library the binary itself needs (its NEEDED entries,
# found where ldd resolves them); what those libraries need, their packages depend on.
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
depends=$(ldd "$binary" | awk '/=> \// { print $1, $3 }' | while read -r soname lib; do
  echo "$needed" | grep -qxF "$soname" || continue
  real=$(readlink -f "$lib")
  dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || true
done | cut -d: -f1 | sort -u | grep -v -e '^libc6$' | while read -r package; do
  upstream=$(dpkg-query -W -f='${Version}' "$package" | sed 's/-[^-]*$//')
  echo "$package (>= $upstream)"
done | paste -sd, - | sed 's/,/, /g')
libc=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-[^-]*$//')
depends="libc6 (>= $libc)${depends:+, $depends}"

install -d "$pkg/DEBIAN"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: aliquot
Version: $version
Architecture: $arch
Maintainer: Aliquot developers <aliquot@localhost>
Depends: $depends, adduser
Recommends: udev, systemd
Section: science
Priority: optional
Installed-Size: $(du -sk "$pkg" | cut -f1)
Description: controller of an automated hot-injection CdSe microreactor
 Runs the reactor's heaters, valves, syringe pumps and spectrometers from a
 board file, fits every spectrum as it arrives, predicts the synthesis
 outcome with an int8 network in the loop, and keeps a durable journal
 that it pushes to a lab server. Includes the digital twin of the rig.
CONTROL
printf '/etc/aliquot/board.toml\n/etc/aliquot/campaign.toml\n/etc/aliquot/uplink.token\n' > "$pkg/DEBIAN/conffiles"
install -m 0755 "$root/deploy/debian/postinst" "$pkg/DEBIAN/postinst"
install -m 0755 "$root/deploy/debian/prerm" "$pkg/DEBIAN/prerm"
install -m 0755 "$root/deploy/debian/postrm" "$pkg/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/aliquot_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
