#!/usr/bin/env bash
# The GPIO shim against libgpiod 2.x, on a machine whose system libgpiod is 1.6 (bookworm):
#   1. PyPI's `gpiod` sdist (pip download --no-binary :all:) vendors the libgpiod C library
#      (lib/*.c, include/gpiod.h); it is compiled with cc into a local prefix, as libgpiod.so.3
#      (the 2.x soname; 1.6 is libgpiod.so.2), with a libgpiod.pc beside it.
#   2. SwiftPM builds only CGPIODShim, LinuxIO, Transports and LinuxIOTests (--target) with
#      PKG_CONFIG_PATH on that .pc, so the shim's #include <gpiod.h> is the 2.x header.
#   3. Those objects are linked into a small Swift Testing runner with -L and an rpath on the
#      prefix (SwiftPM drops pkg-config's -L, which is how the system 1.6 .so won the link last
#      time), and readelf/ldd must show it needs libgpiod.so.3 and loads it from the prefix.
#   4. A C probe linked with the shim object SwiftPM compiled prints aliquot_gpio_api_major()
#      (must be 2) and the runtime version (must be the one built here); then the GPIO suites
#      (GPIOTests, LiveKernelTests) run with ALIQUOT_EXPECT_GPIOD_API=2: LiveKernelTests fails unless
#      the shim was compiled for the 2.x API and gpiod_api_version() says 2.x at run time.
# Everything lives under .build-gpiod2 and is reused: a repeat only relinks and reruns.
#   .ci/libgpiod2-check.sh            (GPIOD2_VERSION=2.x pins the sdist; default: newest 2.x)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.build-gpiod2
prefix=$work/prefix
scratch=$work/swift
spec=${GPIOD2_VERSION:+gpiod==$GPIOD2_VERSION}
spec=${spec:-gpiod>=2,<3}
mkdir -p "$work"
start=$(date +%s)

echo "== libgpiod 2.x sources: pip download --no-binary :all: '$spec'"
sdist=$(ls -t "$work"/gpiod-2.*.tar.gz 2>/dev/null | head -n 1 || true)
if [ -z "$sdist" ] || { [ -n "${GPIOD2_VERSION:-}" ] && [ "$(basename "$sdist")" != "gpiod-$GPIOD2_VERSION.tar.gz" ]; }; then
    python3 -m pip download --quiet --no-binary :all: --no-deps "$spec" -d "$work"
    sdist=$(ls -t "$work"/gpiod-2.*.tar.gz | head -n 1)
fi
source_dir=$work/$(basename "$sdist" .tar.gz)
[ -d "$source_dir" ] || tar -xzf "$sdist" -C "$work"
for needed in include/gpiod.h lib/chip.c lib/line-request.c lib/misc.c libgpiod-version.txt; do
    [ -f "$source_dir/$needed" ] || { echo "error: $(basename "$sdist") has no $needed: not the vendored libgpiod sources"; exit 1; }
done
version=$(cat "$source_dir/libgpiod-version.txt")
case "$version" in 2.*) ;; *) echo "error: the sdist vendors libgpiod $version, not 2.x"; exit 1 ;; esac
echo "$(basename "$sdist"): libgpiod $version, $(ls "$source_dir"/lib/*.c | wc -l) C files"

echo "== compile libgpiod $version into $prefix"
library=$prefix/lib/libgpiod.so.3
if [ ! -f "$library" ] || [ "$(cat "$prefix/VERSION" 2>/dev/null)" != "$version" ]; then
    rm -rf "$prefix" "$work/objects"
    mkdir -p "$prefix/lib/pkgconfig" "$prefix/include" "$work/objects"
    for file in "$source_dir"/lib/*.c; do
        # The same definitions the sdist's setup.py gives its vendored build.
        cc -c -O2 -fPIC -fvisibility=hidden -D_GNU_SOURCE -DGPIOD_API_VERSION_STR="\"$version\"" \
            -I"$source_dir/include" -I"$source_dir/lib" -o "$work/objects/$(basename "$file" .c).o" "$file"
    done
    cc -shared -Wl,-soname,libgpiod.so.3 -o "$library" "$work"/objects/*.o
    ln -sf libgpiod.so.3 "$prefix/lib/libgpiod.so"
    cp "$source_dir/include/gpiod.h" "$prefix/include/gpiod.h"
    cat > "$prefix/lib/pkgconfig/libgpiod.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libgpiod
Description: libgpiod $version built from PyPI's gpiod sdist for Aliquot's CI
Version: $version
Libs: -L\${libdir} -lgpiod
Cflags: -I\${includedir}
PC
    echo "$version" > "$prefix/VERSION"
fi
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion libgpiod)" = "$version" ] || { echo "error: pkg-config does not find the 2.x libgpiod.pc"; exit 1; }
grep -q GPIOD_LINE_BULK_MAX_LINES "$prefix/include/gpiod.h" && { echo "error: $prefix/include/gpiod.h is a 1.x header"; exit 1; }
echo "$library: $(stat -c %s "$library") bytes, $(nm -D --defined-only "$library" | grep -c ' T gpiod_') gpiod_ functions"

echo "== swift build --target LinuxIOTests against it"
# LIBRARY_PATH too: any link SwiftPM does itself then also finds the 2.x library first.
export LIBRARY_PATH=$prefix/lib${LIBRARY_PATH:+:$LIBRARY_PATH}
link_flags=(-Xlinker -L"$prefix/lib" -Xlinker -rpath -Xlinker "$prefix/lib")
swift build --scratch-path "$scratch" --target LinuxIOTests -Xcc -I"$prefix/include" "${link_flags[@]}"
bin=$(swift build --scratch-path "$scratch" --show-bin-path)

echo "== link the GPIO test runner"
runner_dir=$work/runner
mkdir -p "$runner_dir"
# What SwiftPM's generated test runner does for Swift Testing, and nothing else.
printf 'import Testing\n\nawait Testing.__swiftPMEntryPoint() as Never\n' > "$runner_dir/main.swift"
objects=()
for module in LinuxIOTests LinuxIO Transports CGPIODShim; do
    objects+=("$bin/$module.build"/*.o)
done
swiftc -emit-executable -o "$runner_dir/gpiod2-tests" "$runner_dir/main.swift" "${objects[@]}" \
    -I "$bin/Modules" -L "$prefix/lib" -Xlinker -rpath -Xlinker "$prefix/lib" -lgpiod -li2c -lusb-1.0 -lm

echo "== which libgpiod the runner loads"
needed=$(readelf -d "$runner_dir/gpiod2-tests" | sed -n 's/.*(NEEDED).*\[\(libgpiod[^]]*\)\].*/\1/p')
loaded=$(ldd "$runner_dir/gpiod2-tests" | awk '$1 ~ /^libgpiod/ { print $1 " => " $3 }')
echo "NEEDED $needed; ldd: $loaded"
[ "$needed" = libgpiod.so.3 ] || { echo "error: the runner needs '$needed', not libgpiod.so.3 (2.x)"; exit 1; }
[ "$loaded" = "libgpiod.so.3 => $library" ] || { echo "error: the runner loads '$loaded', not $library"; exit 1; }

echo "== the shim object SwiftPM compiled, asked directly"
cat > "$runner_dir/api.c" <<'C'
#include <stdio.h>
#include "aliquot_gpio.h"
int main(void)
{
    printf("%d %s\n", aliquot_gpio_api_major(), aliquot_gpio_library_version());
    return 0;
}
C
cc -o "$runner_dir/api" -I"$root/Sources/CGPIODShim/include" "$runner_dir/api.c" "$bin/CGPIODShim.build"/*.o \
    -L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lgpiod
probe=$("$runner_dir/api")
api=${probe%% *}
runtime=${probe#* }
echo "aliquot_gpio_api_major() = $api, aliquot_gpio_library_version() = $runtime"
[ "$api" = 2 ] || { echo "error: the shim was compiled for the libgpiod $api API, not 2"; exit 1; }
[ "$runtime" = "$version" ] || { echo "error: the shim runs against libgpiod $runtime, not the $version built here"; exit 1; }

echo "== GPIO suites with ALIQUOT_EXPECT_GPIOD_API=2"
set +e
NO_COLOR=1 ALIQUOT_EXPECT_GPIOD_API=2 "$runner_dir/gpiod2-tests" --testing-library swift-testing \
    --filter 'GPIOTests|LiveKernelTests' > "$work/tests.log" 2>&1
status=$?
set -e
grep -v ' started\.$' "$work/tests.log"
[ "$status" -eq 0 ] && grep -q 'Test run with .* passed' "$work/tests.log" \
    || { echo "error: the GPIO suites failed against libgpiod $version (exit $status)"; exit 1; }
grep -q "Test \"the GPIO shim's libgpiod API matches the library it runs against\" passed" "$work/tests.log" \
    || { echo "error: the API-version test did not run and pass"; exit 1; }
echo "libgpiod $version: shim compiled for API 2, GPIO suites pass ($(( $(date +%s) - start )) s)"
