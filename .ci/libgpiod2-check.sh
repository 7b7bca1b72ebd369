#!/bin/sh
# Builds the project against libgpiod 2.x and runs the GPIO tests with it.
#
# Debian bookworm ships libgpiod 1.6 (v1 API); trixie and current Raspberry Pi OS ship 2.x, an
# incompatible API. CGPIODShim compiles against either. This compiles the 2.x C library from the
# sources vendored in PyPI's `gpiod` sdist (pip download --no-binary) into a local prefix as a
# shared library (its own soname, libgpiod.so.3, so it cannot be confused with the system's 1.6
# libgpiod.so.2) with a pkg-config file, and builds and tests the project against that prefix.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=${GPIOD2_WORK:-$root/.build-gpiod2}
prefix="$work/prefix"
version=${GPIOD_SDIST_VERSION:-2.5.0}
mkdir -p "$work"
if [ ! -f "$prefix/lib/libgpiod.so.3" ]; then
  rm -rf "$work/src" && mkdir -p "$work/src"
  (cd "$work/src" && python3 -m pip download --quiet --no-binary :all: --no-deps "gpiod==$version" && tar xzf "gpiod-$version.tar.gz")
  src="$work/src/gpiod-$version"
  api=$(cat "$src/libgpiod-version.txt")
  mkdir -p "$prefix/lib/pkgconfig" "$prefix/include" "$work/obj"
  for file in "$src"/lib/*.c; do
    cc -O2 -fPIC -D_GNU_SOURCE -DGPIOD_API_VERSION_STR="\"$api\"" -I"$src/include" -I"$src/lib" \
      -c "$file" -o "$work/obj/$(basename "$file" .c).o"
  done
  cc -shared -Wl,-soname,libgpiod.so.3 -o "$prefix/lib/libgpiod.so.3" "$work"/obj/*.o
  ln -sf libgpiod.so.3 "$prefix/lib/libgpiod.so"
  cp "$src/include/gpiod.h" "$prefix/include/"
  cat > "$prefix/lib/pkgconfig/libgpiod.pc" <<PC
prefix=$prefix
Name: libgpiod
Description: libgpiod $api built from PyPI gpiod $version
Version: $api
Libs: -L\${prefix}/lib -lgpiod
Cflags: -I\${prefix}/include
PC
fi
echo "libgpiod $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion libgpiod) in $prefix"
cd "$root"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" swift build --build-tests --scratch-path "$work/swift" \
  -Xlinker -rpath -Xlinker "$prefix/lib"
# The shim reports which API it was compiled against; the GPIO tests run on it.
ALIQUOT_EXPECT_GPIOD_API=2 PKG_CONFIG_PATH="$prefix/lib/pkgconfig" swift test --skip-build --disable-xctest --scratch-path "$work/swift" \
  -Xlinker -rpath -Xlinker "$prefix/lib" \
  --filter "LinuxIOTests|GPIO"
