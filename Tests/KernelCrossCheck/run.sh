#!/usr/bin/env bash
# `make kernel-check`: kernel_check.c built with the int8 chain kernel and run on this CPU (every
# variant it has against the scalar one), then, on an x86-64 host, built for aarch64 and run under
# qemu-user as two board cores, so the NEON variants the boards use are checked too. Binaries go
# to .build-kernel-check.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLANG=${CLANG:-clang}
out=.build-kernel-check
mkdir -p "$out"
sources=(Tests/KernelCrossCheck/kernel_check.c Sources/CQuantizedKernels/chain_kernel.c)
flags=(-O2 -Wall -Wextra -ISources/CQuantizedKernels/include)
host=$(uname -m)
"$CLANG" "${flags[@]}" "${sources[@]}" -lm -o "$out/kernel-check-$host"
echo "== $host"
"$out/kernel-check-$host"
if [ "$host" = x86_64 ]; then
    "$CLANG" --target=aarch64-linux-gnu -static "${flags[@]}" "${sources[@]}" -lm -o "$out/kernel-check-aarch64"
    # As the Pi 5's Cortex-A76 (with the ARMv8.2 dot product, so neon-dot runs too) and as the
    # Pi 4's Cortex-A72 (without it: neon only, and best falls back to it).
    echo "== aarch64 (qemu-user, cortex-a76)"
    qemu-aarch64-static -cpu cortex-a76 "$out/kernel-check-aarch64" neon neon-dot
    echo "== aarch64 (qemu-user, cortex-a72)"
    qemu-aarch64-static -cpu cortex-a72 "$out/kernel-check-aarch64" neon
fi
