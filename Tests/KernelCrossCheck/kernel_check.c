// Every variant of the int8 chain kernel (Sources/CQuantizedKernels) this CPU runs, against the
// scalar variant, bit for bit, on random chains laid out as the header documents. The scalar
// variant is the one QuantizedKernelTests checks against Learning's integer reference; this
// program carries that check to the vector variants of another architecture (aarch64 NEON,
// run under qemu-user by `make kernel-check`), where the Swift tests cannot run here.
//
// Exits 0 when every variant agrees on every row and the architecture's vector variant, and each
// variant named as an argument, was among them; 1 otherwise, naming the first disagreement.
#include "aliquot_quantized_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// SplitMix64: the same random stream on every architecture.
static uint64_t random_state = 0x5eed;
static uint64_t next_random(void) {
    uint64_t z = (random_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int32_t random_in(int32_t low, int32_t high) { return low + (int32_t)(next_random() % (uint64_t)(high - low + 1)); }

static void *zeroed(size_t bytes) {
    void *pointer = calloc(1, bytes + 64);
    if (!pointer) {
        fprintf(stderr, "kernel-check: out of memory\n");
        exit(1);
    }
    return pointer;
}

/// One hidden layer of `inputs` -> `outputs`, as QuantizedChain lays it out; `quads` when every
/// input is a byte (the previous layer's ceiling is at most 255).
static aliquot_chain_layer random_layer(int32_t inputs, int32_t outputs, int quads, int32_t ceiling) {
    aliquot_chain_layer layer;
    memset(&layer, 0, sizeof layer);
    layer.pairs = (inputs + 1) / 2;
    layer.chunks = (outputs + 7) / 8;
    int16_t *weights = zeroed((size_t)layer.pairs * layer.chunks * 16 * sizeof(int16_t));
    int8_t *quad_weights = quads ? zeroed((size_t)((inputs + 3) / 4) * layer.chunks * 32) : NULL;
    int32_t *bias = zeroed((size_t)layer.chunks * 8 * sizeof(int32_t));
    int32_t *multiplier = zeroed((size_t)layer.chunks * 8 * sizeof(int32_t));
    // A right shift s of 0 doubles the multipliers and rounding and shifts by 32 (see the header).
    int32_t s = random_in(0, 9);
    for (int32_t o = 0; o < outputs; o++) {
        for (int32_t i = 0; i < inputs; i++) {
            int8_t w = (int8_t)random_in(-127, 127);
            weights[(i / 2) * layer.chunks * 16 + (o / 4) * 8 + (o % 4) * 2 + i % 2] = w;
            if (quads) quad_weights[(i / 4) * layer.chunks * 32 + (o / 8) * 32 + (o % 8) * 4 + i % 4] = w;
        }
        bias[o] = random_in(-40000, 30000);
        uint32_t m = (uint32_t)random_in(1 << 30, 0x7FFFFFFF);
        multiplier[o] = (int32_t)(s == 0 ? m << 1 : m);
    }
    layer.weights = weights;
    layer.bias = bias;
    layer.multiplier = multiplier;
    layer.rounding = s == 0 ? 1ull << 31 : (1ull << 30) + (1ull << (30 + s));
    layer.shift = s == 0 ? 32 : 31 + (uint64_t)s;
    layer.ceiling = ceiling;
    layer.quad_weights = quad_weights;
    layer.quads = quads ? (inputs + 3) / 4 : 0;
    if (quads) {
        int32_t *quad_bias = zeroed((size_t)layer.chunks * 8 * sizeof(int32_t));
        for (int32_t o = 0; o < outputs; o++) {
            int32_t sum = 0;
            for (int32_t i = 0; i < inputs; i++) sum += quad_weights[(i / 4) * layer.chunks * 32 + (o / 8) * 32 + (o % 8) * 4 + i % 4];
            quad_bias[o] = bias[o] + 128 * sum;
        }
        layer.quad_bias = quad_bias;
    }
    return layer;
}

/// An input value: mostly within the calibrated range, some beyond it, some exact rounding ties
/// and some not numbers at all.
static float random_input(float scale) {
    switch (random_in(0, 19)) {
    case 0: return NAN;
    case 1: return random_in(0, 1) ? INFINITY : -INFINITY;
    case 2: return ((float)random_in(-300, 300) + 0.5f) * scale;
    case 3: return (float)random_in(-1000000, 1000000) * scale;
    default: return (float)random_in(-150000, 150000) / 1000.0f * scale;
    }
}

int main(int argc, char **argv) {
    static const int32_t shapes[][5] = {
        // inputs, then hidden widths (0 ends); the published 5 -> 5 -> 50 -> 50 -> 1 first.
        {5, 5, 50, 50, 0}, {6, 5, 50, 50, 0}, {5, 5, 64, 64, 0}, {7, 90, 33, 0, 0},
        {3, 8, 16, 0, 0},  {8, 5, 50, 50, 0}, {5, 13, 0, 0, 0},  {2, 4, 4, 4, 0},
    };
    int32_t shape_count = (int32_t)(sizeof shapes / sizeof shapes[0]);
    int32_t variants[AQK_VARIANT_COUNT], variant_count = 0, vector_variant_seen = 0;
    for (int32_t v = AQK_VARIANT_SCALAR + 1; v < AQK_VARIANT_COUNT; v++) {
        if (!aliquot_kernel_variant_available(v)) continue;
        variants[variant_count++] = v;
#if defined(__aarch64__)
        vector_variant_seen |= v == AQK_VARIANT_NEON;
#else
        vector_variant_seen |= v == AQK_VARIANT_SSE2;
#endif
    }
    long rows_checked = 0;
    for (int32_t shape = 0; shape < shape_count; shape++) {
        for (int32_t trial = 0; trial < 40; trial++) {
            // int8 activations (ceilings up to 255, so quads); int16 ones (16-bit inputs too) for the
            // layers at most 8 wide, as Learning's narrowInt16; or int16 everywhere.
            int mode = trial % 4 < 2 ? 0 : trial % 4 - 1;
            int32_t inputs = shapes[shape][0], hidden = 0;
            aliquot_chain_layer layers[3];
            int32_t previous_width = inputs, previous_ceiling = 0x7FFF;
            for (int32_t l = 1; l < 5 && shapes[shape][l] > 0; l++) {
                int wide16 = mode == 2 || (mode == 1 && shapes[shape][l] <= 8);
                int32_t ceiling = wide16 ? random_in(256, 32767) : random_in(100, 255);
                layers[hidden++] = random_layer(previous_width, shapes[shape][l], l > 1 && previous_ceiling <= 255, ceiling);
                previous_width = shapes[shape][l];
                previous_ceiling = ceiling;
            }
            int32_t last_lanes = ((previous_width + 7) / 8) * 8;
            int16_t *last_weights = zeroed((size_t)last_lanes * sizeof(int16_t));
            for (int32_t i = 0; i < previous_width; i++) last_weights[i] = (int16_t)random_in(-127, 127);
            int32_t last_bias = random_in(-100000, 100000);
            int input16 = mode != 0 && inputs <= 8;
            aliquot_chain_input quantization = {
                .scale = (float)random_in(1, 1000) / (input16 ? 10000000.0f : 100000.0f),
                .zero_point = input16 ? 0 : random_in(-128, 127),
                .minimum = input16 ? -32768 : -128,
                .maximum = input16 ? 32767 : 127,
                .count = inputs,
            };
            int16_t *activations[4];
            int32_t widths[4] = {inputs, 0, 0, 0};
            for (int32_t l = 0; l < hidden; l++) widths[l + 1] = shapes[shape][l + 1];
            for (int32_t l = 0; l <= hidden; l++) activations[l] = zeroed((size_t)(((widths[l] + 7) / 8) * 8 + 8) * sizeof(int16_t));
            for (int32_t row = 0; row < 50; row++) {
                float input[8];
                for (int32_t i = 0; i < inputs; i++) input[i] = random_input(quantization.scale * (input16 ? 32768.0f : 128.0f));
                int32_t expected = aliquot_chain_predict(
                    AQK_VARIANT_SCALAR, input, &quantization, layers, hidden, activations, last_weights, last_bias);
                for (int32_t v = 0; v < variant_count; v++) {
                    int32_t actual = aliquot_chain_predict(
                        variants[v], input, &quantization, layers, hidden, activations, last_weights, last_bias);
                    if (actual != expected) {
                        fprintf(stderr, "kernel-check: %s gives %d where scalar gives %d (shape %d, trial %d, row %d)\n",
                                aliquot_kernel_variant_name(variants[v]), actual, expected, shape, trial, row);
                        return 1;
                    }
                }
                rows_checked++;
            }
        }
    }
    printf("kernel-check: %ld rows, %d shapes; variants", rows_checked, shape_count);
    for (int32_t v = 0; v < variant_count; v++) printf(" %s", aliquot_kernel_variant_name(variants[v]));
    printf(" agree with scalar bit for bit\n");
    if (!vector_variant_seen) {
        fprintf(stderr, "kernel-check: this architecture's baseline vector variant was not available\n");
        return 1;
    }
    // Variants named on the command line must have been among those checked (a CPU model that
    // has them was asked for).
    for (int a = 1; a < argc; a++) {
        int seen = 0;
        for (int32_t v = 0; v < variant_count; v++) seen |= strcmp(argv[a], aliquot_kernel_variant_name(variants[v])) == 0;
        if (!seen) {
            fprintf(stderr, "kernel-check: variant %s was not available here\n", argv[a]);
            return 1;
        }
    }
    return 0;
}
