#!/bin/sh
# Checks the package built by `make deb`:
#   1. its control fields and file list (dpkg-deb -I/-c), against the files it must ship;
#   2. the systemd unit, with `systemd-analyze verify` against the unpacked package;
#   3. an install into a clean Debian bookworm chroot made by debootstrap: `dpkg -i` (which
#      leaves the Depends unmet) then `apt-get -f install` inside the chroot, which must resolve
#      them from the Debian mirror; the postinst must have made the user, group and directories
#      with their owners and modes; the installed binary must run `aliquot --help`; and a purge
#      must remove it again.
# The chroot is cached under $DEB_CHECK_CACHE (default .build-debcheck): the debootstrapped base
# as a tarball, made once (about a minute), and the .debs apt fetched, so a repeat extracts the
# tarball and installs from the cache without downloading. Needs root; the mirror is the one apt
# on this machine uses (/etc/apt/sources.list*), else deb.debian.org.
#   deploy/check-deb.sh [dir-with-the-deb]
set -eu
dir=${1:-out}
root=$(cd "$(dirname "$0")/.." && pwd)
deb=$(ls -t "$dir"/aliquot_*.deb | head -n 1)
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }
start=$(seconds)

echo "== $deb: $(stat -c %s "$deb") bytes"
dpkg-deb -I "$deb" | sed -n '/ Package:/,$p'
echo "== contents"
contents=$(dpkg-deb -c "$deb")
echo "$contents" | awk '{ print $1, $2, $3, $6 }'
list=$(echo "$contents" | awk '{ print $6 }')
for expected in ./usr/bin/aliquot ./lib/systemd/system/aliquot.service ./lib/udev/rules.d/60-aliquot.rules \
  ./etc/aliquot/board.toml ./etc/aliquot/campaign.toml ./etc/aliquot/uplink.token ./var/lib/aliquot/ \
  ./usr/share/aliquot/models/cdse-absorbance.aqm ./usr/share/aliquot/overlays/aliquot-reactor-hat.dts \
  ./usr/share/aliquot/overlays/aliquot-reactor-hat.dtbo ./usr/share/aliquot/overlays/config.txt \
  ./usr/share/aliquot/boards/rpi5-reactor-hat.toml \
  ./usr/share/doc/aliquot/README.md; do
  echo "$list" | grep -qx "$expected" || { echo "error: $expected missing from the package"; exit 1; }
done
echo "$contents" | awk '$6 == "./usr/bin/aliquot" && $1 != "-rwxr-xr-x" { exit 1 }' || { echo "error: /usr/bin/aliquot is not 0755"; exit 1; }
echo "$contents" | awk '$6 == "./etc/aliquot/uplink.token" && $1 != "-rw-r-----" { exit 1 }' || { echo "error: the uplink token is not 0640"; exit 1; }
echo "$(echo "$list" | grep -vc '/$') files, all expected ones present"

unpacked=$(mktemp -d)
chroot_dir=""
cleanup() {
  if [ -n "$chroot_dir" ] && mountpoint -q "$chroot_dir/proc" 2>/dev/null; then umount "$chroot_dir/proc"; fi
  rm -rf "$unpacked"
}
trap cleanup EXIT
dpkg-deb -x "$deb" "$unpacked"
echo "== systemd-analyze verify"
# --root: ExecStart's binary is looked up in the unpacked package, not on this machine; the
# targets the unit orders itself after come from this machine's systemd. A key systemd does not
# know, or a value it cannot parse, is only a warning to verify: any output fails the check.
mkdir -p "$unpacked/usr/lib/systemd/system"
cp -an /usr/lib/systemd/system/. "$unpacked/usr/lib/systemd/system/"
if ! verify=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --root="$unpacked" /lib/systemd/system/aliquot.service 2>&1) \
  || [ -n "$verify" ]; then
  echo "$verify"
  echo "error: systemd-analyze verify does not accept the unit"
  exit 1
fi
echo "unit accepted ($(systemd-analyze --version | head -n 1))"

[ "$(id -u)" -eq 0 ] || { echo "error: the chroot install needs root (sudo make deb-check)"; exit 1; }
command -v debootstrap >/dev/null || { echo "error: debootstrap is needed (make deb-check installs it)"; exit 1; }
cache=${DEB_CHECK_CACHE:-$root/.build-debcheck}
mkdir -p "$cache/archives"
mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p; s/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*debian\) .*/\2/p' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
base=$cache/bookworm-minbase.tar
if [ ! -f "$base" ]; then
  echo "== debootstrap --variant=minbase bookworm from $mirror (once; cached in $base)"
  step=$(seconds)
  rm -rf "$cache/seed"
  debootstrap --variant=minbase bookworm "$cache/seed" "$mirror" > "$cache/debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/debootstrap.log"; exit 1; }
  chroot "$cache/seed" apt-get clean
  tar -C "$cache/seed" -cf "$base.partial" . && mv "$base.partial" "$base"
  rm -rf "$cache/seed"
  echo "debootstrap and tarball: $(elapsed "$step") s, $(stat -c %s "$base") bytes"
fi

echo "== a fresh chroot from $base"
step=$(seconds)
chroot_dir=$cache/root
rm -rf "$chroot_dir"
mkdir -p "$chroot_dir"
tar -C "$chroot_dir" -xf "$base"
mount -t proc proc "$chroot_dir/proc"
# The packages fetched by earlier runs: apt installs them without downloading again.
find "$cache/archives" -name '*.deb' -exec cp {} "$chroot_dir/var/cache/apt/archives/" \;
cp "$deb" "$chroot_dir/tmp/aliquot.deb"
echo "chroot ready: $(elapsed "$step") s"

echo "== dpkg -i, then apt-get -f install in the chroot"
step=$(seconds)
in_chroot() { chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }
# dpkg -i alone must stop at the unmet Depends (the chroot has none of the libraries yet).
if in_chroot dpkg -i /tmp/aliquot.deb > "$cache/dpkg-i.log" 2>&1; then
  echo "note: dpkg -i configured the package without apt (its Depends were all present)"
else
  grep -E 'depends on|dependency problems' "$cache/dpkg-i.log" | sed 's/^/  /' | head -n 12
fi
if ! in_chroot apt-get -f install -y -q --no-install-recommends > "$cache/apt-get.log" 2>&1; then
  # Package lists older than the mirror: fetch them and try again.
  echo "apt-get -f install failed with the cached package lists; apt-get update and again"
  in_chroot apt-get update -q > "$cache/apt-update.log" 2>&1 || { tail -n 20 "$cache/apt-update.log"; exit 1; }
  in_chroot apt-get -f install -y -q --no-install-recommends > "$cache/apt-get.log" 2>&1 \
    || { tail -n 30 "$cache/apt-get.log"; exit 1; }
fi
grep -E '^(Setting up|The following NEW)|newly installed' "$cache/apt-get.log" | sed 's/^/  /'
cp -u "$chroot_dir"/var/cache/apt/archives/*.deb "$cache/archives/" 2>/dev/null || true
install_seconds=$(elapsed "$step")
echo "installed with its dependencies: $install_seconds s"

echo "== what the postinst made"
status=$(in_chroot dpkg-query -W -f='${Status} ${Version}' aliquot)
echo "dpkg: $status"
case "$status" in "install ok installed "*) ;; *) echo "error: aliquot is not installed: $status"; exit 1 ;; esac
user=$(in_chroot getent passwd aliquot) || { echo "error: no aliquot user"; exit 1; }
echo "user: $user"
in_chroot getent group aliquot || { echo "error: no aliquot group"; exit 1; }
uid=$(echo "$user" | cut -d: -f3)
[ "$uid" -lt 1000 ] || { echo "error: the aliquot user is not a system user (uid $uid)"; exit 1; }
case "$user" in *:/var/lib/aliquot:/usr/sbin/nologin) ;; *) echo "error: home or shell wrong: $user"; exit 1 ;; esac
check_mode() {
  actual=$(in_chroot stat -c '%U:%G %a' "$1")
  echo "$1: $actual"
  [ "$actual" = "$2" ] || { echo "error: $1 is $actual, expected $2"; exit 1; }
}
check_mode /var/lib/aliquot "aliquot:aliquot 750"
check_mode /etc/aliquot/uplink.token "root:aliquot 640"
check_mode /etc/aliquot/board.toml "root:root 644"
check_mode /usr/bin/aliquot "root:root 755"

echo "== aliquot --help in the chroot"
help=$(in_chroot /usr/bin/aliquot --help)
echo "$help" | head -n 12
for command in run tune doctor; do
  echo "$help" | grep -qw "$command" || { echo "error: aliquot --help does not list '$command'"; exit 1; }
done
missing=$(in_chroot ldd /usr/bin/aliquot | grep 'not found' || true)
[ -z "$missing" ] || { echo "error: libraries missing in the chroot: $missing"; exit 1; }

echo "== purge"
in_chroot apt-get purge -y -q aliquot > "$cache/purge.log" 2>&1 || { tail -n 20 "$cache/purge.log"; exit 1; }
if in_chroot dpkg-query -W -f='${Status}' aliquot 2>/dev/null | grep -q 'ok installed'; then
  echo "error: aliquot still installed after purge"; exit 1
fi
[ ! -e "$chroot_dir/usr/bin/aliquot" ] || { echo "error: /usr/bin/aliquot left after purge"; exit 1; }
umount "$chroot_dir/proc"
rm -rf "$chroot_dir"
chroot_dir=""
echo "package: $(stat -c %s "$deb") bytes; chroot install $install_seconds s; deb-check $(elapsed "$start") s in all"
echo "package installs, runs and purges in a clean bookworm chroot"
