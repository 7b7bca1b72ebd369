#!/bin/sh
# Checks the package built by `make deb`: its file list, the systemd unit (systemd-analyze verify
# against the unpacked package), and an install into a fresh Debian bookworm chroot made with
# debootstrap, where the installed binary must run `aliquot --help` and the postinst must have
# made the `aliquot` user. Needs root, debootstrap (installed if missing) and the Debian mirror.
set -eu
dir=${1:-out}
deb=$(ls -t "$dir"/aliquot_*.deb | head -n 1)
echo "== $deb"
dpkg-deb -I "$deb" | sed -n '/Package:/,$p'
echo "== contents"
list=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
echo "$list"
for expected in ./usr/bin/aliquot ./lib/systemd/system/aliquot.service ./lib/udev/rules.d/60-aliquot.rules \
  ./etc/aliquot/board.toml ./etc/aliquot/campaign.toml ./etc/aliquot/uplink.token ./var/lib/aliquot/ \
  ./usr/share/aliquot/models/cdse-absorbance.aqm ./usr/share/aliquot/overlays/aliquot-reactor-hat.dts; do
  echo "$list" | grep -qx "$expected" || { echo "error: $expected missing from the package"; exit 1; }
done

unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$deb" "$unpacked"
echo "== systemd-analyze verify"
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --root="$unpacked" /lib/systemd/system/aliquot.service
echo "unit accepted"

sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
command -v debootstrap >/dev/null || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
chroot_dir=${CHROOT_DIR:-/var/tmp/aliquot-deb-chroot}
if [ ! -x "$chroot_dir/usr/bin/apt-get" ]; then
  echo "== debootstrap bookworm into $chroot_dir"
  $sudo debootstrap --variant=minbase bookworm "$chroot_dir" http://deb.debian.org/debian >/dev/null
fi
cp "$deb" "$chroot_dir/tmp/aliquot.deb"
echo "== install into the chroot"
$sudo chroot "$chroot_dir" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/aliquot.deb >/dev/null'
$sudo chroot "$chroot_dir" getent passwd aliquot
$sudo chroot "$chroot_dir" /usr/bin/aliquot --help | head -n 5
$sudo chroot "$chroot_dir" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq aliquot >/dev/null'
echo "package installs, runs and purges in a clean bookworm chroot"
