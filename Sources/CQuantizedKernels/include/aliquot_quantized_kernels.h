// The int8 chain kernel of Learning's QuantizedChain (the published 5 -> 5 -> 50 -> 50 -> 1
// network, one row at a time) in C, so it can use the CPU's vector units beyond the package's
// baseline (x86-64 SSE2): AVX2 vpmaddwd, AVX-VNNI / AVX512-VNNI vpdpwssd and vpdpbusd on
// x86-64 (chosen at run time with __builtin_cpu_supports), NEON smull/addp on aarch64 (every
// ARMv8-A core has it) and, where the core has the ARMv8.2 dot product (the Pi 5's Cortex-A76;
// HWCAP_ASIMDDP), NEON sdot for the published shape. Every variant is bit for bit the same
// integer arithmetic as the Swift kernel and the integer reference.
#ifndef ALIQUOT_QUANTIZED_KERNELS_H
#define ALIQUOT_QUANTIZED_KERNELS_H

#include <stdint.h>

#pragma clang assume_nonnull begin

/// One hidden layer as QuantizedChain lays it out (Swift's ChainLayer): activations are (q - z)
/// in int16 lanes; weights interleaved by input pairs, for pair p and output channel o at
/// p * chunks * 16 + (o / 4) * 8 + (o % 4) * 2 + (input % 2); channels padded to chunks of 8
/// with zero weights, biases and multipliers.
typedef struct {
    int32_t pairs;
    int32_t chunks;
    const int16_t *weights;
    const int32_t *bias;
    /// Read as unsigned 32-bit (M0, or 2·M0 when s = 0: see `shift`).
    const int32_t *multiplier;
    /// reluRounding(rightShift: s) = 2^30 + (s > 0 ? 2^(30+s) : 0), doubled when s = 0.
    uint64_t rounding;
    /// 31 + s, at least 32: a layer with s = 0 doubles its multipliers and rounding and shifts
    /// by 32 (the same quotient), so the 256-bit kernels can leave odd channels in the high
    /// halves of their 64-bit lanes with one shift.
    uint64_t shift;
    /// The highest (q - z) of the layer's output.
    int32_t ceiling;
    /// For the VNNI variants (vpdpbusd, unsigned 8-bit activations times signed 8-bit weights):
    /// the same weights in quads of inputs, for quad k and channel o at
    /// k * chunks * 32 + (o / 8) * 32 + (o % 8) * 4 + (input % 4); only when every input
    /// (q - z) is within 0...255 (the previous layer's int8 ReLU output); NULL otherwise.
    const int8_t *_Nullable quad_weights;
    int32_t quads;
    /// With quad_weights, for the signed dot-product variant (NEON sdot, which multiplies signed
    /// bytes only): bias + 128 · Σ weights of each channel, so it can take the inputs as x - 128
    /// (the same sums); NULL otherwise.
    const int32_t *_Nullable quad_bias;
} aliquot_chain_layer;

/// The network's input quantization (Learning's QuantizationParameters.quantize): q =
/// clamp(round(x / scale) + zero_point, minimum, maximum), half away from zero.
typedef struct {
    float scale;
    int32_t zero_point;
    int32_t minimum;
    int32_t maximum;
    int32_t count;
} aliquot_chain_input;

/// Hidden layers of at most this many input pairs run here (the gather list lives on the stack).
#define AQK_MAX_PAIRS 512

/// The kernel variants; AQK_VARIANT_BEST picks the fastest one this CPU runs.
enum {
    AQK_VARIANT_BEST = 0,
    AQK_VARIANT_SCALAR = 1,
    AQK_VARIANT_SSE2 = 2,
    AQK_VARIANT_AVX2 = 3,
    AQK_VARIANT_AVXVNNI = 4,
    AQK_VARIANT_AVX512VNNI = 5,
    AQK_VARIANT_NEON = 6,
    AQK_VARIANT_NEON_DOT = 7,
    AQK_VARIANT_COUNT = 8,
};

/// Whether `variant` is compiled in and this CPU runs it (BEST and SCALAR always are).
int aliquot_kernel_variant_available(int32_t variant);

/// The variant AQK_VARIANT_BEST stands for on this CPU (detected once).
int32_t aliquot_kernel_best_variant(void);

/// A short name of `variant` ("avx2", ...), for reports.
const char *aliquot_kernel_variant_name(int32_t variant);

/// One row through the chain: `input` (input->count normalized floats) is quantized into
/// `activations[0]` as (q - z) (its padding lanes stay zero: a multiple of 8 plus 8); hidden
/// layer l writes `activations[l + 1]` (chunks * 8 lanes), scratch the caller does not read
/// (the VNNI variants run the published shape through registers without them). Returns
/// the last layer's accumulator, Σ last_weights · x + last_bias over the last hidden layer's
/// `chunks * 8` lanes (wrapping int32 sums, as the Swift kernel). An unavailable variant runs
/// the scalar one. Allocates nothing.
int32_t aliquot_chain_predict(
    int32_t variant, const float *input, const aliquot_chain_input *quantization, const aliquot_chain_layer *layers,
    int32_t hidden_count, int16_t *_Nonnull const *_Nonnull activations,
    const int16_t *last_weights, int32_t last_bias);

#pragma clang assume_nonnull end

#endif
