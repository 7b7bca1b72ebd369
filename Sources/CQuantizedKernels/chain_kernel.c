// The int8 chain kernel (see include/aliquot_quantized_kernels.h) in one scalar and several
// vector forms, chosen at run time. Each hidden layer: gather the input pairs that are not zero
// (ReLU zeros add nothing; branch-free), then per block of output chunks acc = bias +
// Σ pmaddwd(w pair column, broadcast pair) in registers, then the one-rounding ReLU
// requantization max(0, x)·M0 + 2^30 + 2^(30+s) >> (31 + s) in unsigned 64-bit lanes, saturated
// to int16 and clamped at the layer's ceiling (Learning's reluRequantize / saturatedMin). On
// AVX2 and up the input quantization is vectorized too, and the last layer's dot product is
// taken from the last hidden layer's registers as they are stored. On AVX2 and VNNI the
// published shape runs fused, layer into layer through registers (fused_*).
#include "aliquot_quantized_kernels.h"


#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#endif

#define AQK_INLINE static inline __attribute__((always_inline))

/// BLOCK(..., width) with `width` (1...8) as a constant, so a block's accumulators stay in
/// registers; BLOCK may begin with an assignment (`result = name`).
#define AQK_WITH_WIDTH(BLOCK, width, ...)                                                                              \
    switch (width) {                                                                                                   \
    case 8: BLOCK(__VA_ARGS__, 8); break;                                                                              \
    case 7: BLOCK(__VA_ARGS__, 7); break;                                                                              \
    case 6: BLOCK(__VA_ARGS__, 6); break;                                                                              \
    case 5: BLOCK(__VA_ARGS__, 5); break;                                                                              \
    case 4: BLOCK(__VA_ARGS__, 4); break;                                                                              \
    case 3: BLOCK(__VA_ARGS__, 3); break;                                                                              \
    case 2: BLOCK(__VA_ARGS__, 2); break;                                                                              \
    default: BLOCK(__VA_ARGS__, 1); break;                                                                             \
    }

/// Runs BLOCK(..., width) over `chunks` output chunks, up to MAX (at most 8) at a time; the
/// arguments may use `c`, the block's first chunk.
#define AQK_EACH_BLOCK(BLOCK, MAX, chunks, ...)                                                                        \
    for (int32_t c = 0; c < (chunks);) {                                                                               \
        int32_t width = (chunks) - c < (MAX) ? (chunks) - c : (MAX);                                                   \
        AQK_WITH_WIDTH(BLOCK, width, __VA_ARGS__)                                                                      \
        c += width;                                                                                                    \
    }

/// The nonzero input pairs of `x` (as one int32 each) and their weight columns' offsets in
/// bytes (`pair_stride` bytes apart); returns how many.
AQK_INLINE int gather_pairs(const int16_t *x, int32_t pairs, int32_t pair_stride, int32_t *values, int32_t *offsets) {
    int n = 0;
    for (int32_t p = 0; p < pairs; p++) {
        int32_t v;
        __builtin_memcpy(&v, x + 2 * p, sizeof v);
        values[n] = v;
        offsets[n] = p * pair_stride;
        n += v != 0;
    }
    return n;
}

/// QuantizationParameters.quantize, branch-free (data-dependent rounding branches mispredict):
/// x / scale bounded to ±65536, truncated, stepped by the fractional part, clamped; minus the zero point.
static void quantize_input(const float *input, const aliquot_chain_input *p, int16_t *out) {
    for (int32_t i = 0; i < p->count; i++) {
        float scaled = input[i] / p->scale;
        scaled = scaled < 65536.0f ? scaled : 65536.0f;
        scaled = scaled > -65536.0f ? scaled : -65536.0f;
        int32_t whole = (int32_t)scaled;
        float fraction = scaled - (float)whole;
        whole += (fraction >= 0.5f) - (fraction <= -0.5f);
        int32_t q = whole + p->zero_point;
        q = q < p->minimum ? p->minimum : q;
        q = q > p->maximum ? p->maximum : q;
        out[i] = (int16_t)(q - p->zero_point);
    }
}

// MARK: - scalar (every CPU; the reference the vector forms are checked against)

static int16_t requantize_scalar(int32_t acc, int32_t multiplier, uint64_t rounding, uint64_t shift, int32_t ceiling) {
    uint64_t positive = acc > 0 ? (uint64_t)(uint32_t)acc : 0;
    uint64_t r = (positive * (uint64_t)(uint32_t)multiplier + rounding) >> shift;
    // The vector forms keep the low 32 bits as a signed lane, saturate it to int16, then clamp.
    int32_t lane = (int32_t)(uint32_t)r;
    int32_t q = lane > 32767 ? 32767 : lane < -32768 ? -32768 : lane;
    return (int16_t)(q < ceiling ? q : ceiling);
}

static void layer_scalar(const aliquot_chain_layer *layer, const int16_t *x, int16_t *out) {
    int32_t pair_stride = layer->chunks * 16;
    for (int32_t o = 0; o < layer->chunks * 8; o++) {
        uint32_t acc = (uint32_t)layer->bias[o];
        int32_t lane = (o / 4) * 8 + (o % 4) * 2;
        for (int32_t p = 0; p < layer->pairs; p++) {
            const int16_t *w = layer->weights + p * pair_stride + lane;
            acc += (uint32_t)((int32_t)w[0] * x[2 * p] + (int32_t)w[1] * x[2 * p + 1]);
        }
        out[o] = requantize_scalar((int32_t)acc, layer->multiplier[o], layer->rounding, layer->shift, layer->ceiling);
    }
}

static int32_t last_dot_scalar(const int16_t *x, const int16_t *w, int32_t lanes) {
    uint32_t dot = 0;
    for (int32_t i = 0; i < lanes; i++) dot += (uint32_t)((int32_t)w[i] * x[i]);
    return (int32_t)dot;
}

/// Whether the chain has the published shape the fused kernels take: at most 8 inputs (one
/// chunk of pairs) into one chunk, then a layer of at most 8 chunks taking that chunk as pairs
/// (int16 activations) or, with `quads` (VNNI), quads (int8), then a layer of at most 8 chunks
/// fed by it, as quads with `quads` and pairs without (NEON sdot asks for quads and takes
/// layer 1 by pairs, which every layer has).
static int fused_fits(const aliquot_chain_input *quantization, const aliquot_chain_layer *layers, int32_t hidden_count,
                      int quads) {
    if (hidden_count != 3 || quantization->count > 8 || layers[0].chunks != 1 || layers[0].pairs > 4 ||
        layers[1].pairs > 4 || layers[1].chunks > 8 || layers[2].chunks > 8)
        return 0;
    if (!quads) return layers[2].pairs <= 4 * layers[1].chunks;
    return layers[1].quads <= 2 && layers[2].quad_weights && layers[2].quads <= 2 * layers[1].chunks;
}

// MARK: - x86-64: SSE2 (baseline), AVX2, AVX-VNNI, AVX512-VNNI (256-bit)

#if defined(__x86_64__)

/// quantize_input on up to eight lanes (AVX2), the same bits by a shorter chain: rounding half
/// away from zero is truncation after adding ±0x1.fffffep-2 (the float just below 0.5), which is
/// exact for every float within ±65536 (checked for all of them), and the clamp to ±65536 is
/// chosen from comparisons (NaN, as the scalar `a < b ? a : b`, goes to +65536) after it.
__attribute__((always_inline, target("avx2"))) static inline __m128i quantize_eight_avx2(
    const float *input, int32_t count, const aliquot_chain_input *p) {
    __m256i present = _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 scaled = _mm256_div_ps(_mm256_maskload_ps(input, present), _mm256_set1_ps(p->scale));
    __m256 nudge = _mm256_or_ps(_mm256_and_ps(scaled, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(0x1.fffffep-2f));
    __m256i whole = _mm256_cvttps_epi32(_mm256_add_ps(scaled, nudge));
    __m256i high = _mm256_castps_si256(_mm256_cmp_ps(scaled, _mm256_set1_ps(65536.0f), _CMP_NLT_UQ));
    __m256i low = _mm256_castps_si256(_mm256_cmp_ps(scaled, _mm256_set1_ps(-65536.0f), _CMP_LT_OQ));
    whole = _mm256_blendv_epi8(whole, _mm256_set1_epi32(65536), high);
    whole = _mm256_blendv_epi8(whole, _mm256_set1_epi32(-65536), low);
    __m256i zero_point = _mm256_set1_epi32(p->zero_point);
    __m256i q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(whole, zero_point), _mm256_set1_epi32(p->minimum)),
                                 _mm256_set1_epi32(p->maximum));
    q = _mm256_and_si256(_mm256_sub_epi32(q, zero_point), present);
    return _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
}

/// quantize_input eight lanes at a time (AVX2). Lanes past `count` are not read; they hold zero.
__attribute__((always_inline, target("avx2"))) static inline void quantize_input_avx2(
    const float *input, const aliquot_chain_input *p, int16_t *out) {
    for (int32_t i = 0; i < p->count; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), quantize_eight_avx2(input + i, p->count - i, p));
}

AQK_INLINE __m128i requantize_sse2(__m128i acc, __m128i multiplier, __m128i rounding, __m128i shift) {
    __m128i positive = _mm_andnot_si128(_mm_srai_epi32(acc, 31), acc);
    __m128i even = _mm_srl_epi64(_mm_add_epi64(_mm_mul_epu32(positive, multiplier), rounding), shift);
    __m128i odd = _mm_srl_epi64(
        _mm_add_epi64(_mm_mul_epu32(_mm_srli_epi64(positive, 32), _mm_srli_epi64(multiplier, 32)), rounding), shift);
    // (e0, e2, ., .) and (o0, o2, ., .) interleaved: channels 0, 1, 2, 3.
    return _mm_unpacklo_epi32(_mm_shuffle_epi32(even, _MM_SHUFFLE(3, 1, 2, 0)), _mm_shuffle_epi32(odd, _MM_SHUFFLE(3, 1, 2, 0)));
}

/// `width` chunks (of 8 channels, two xmm accumulators each) from chunk `c` on.
AQK_INLINE void block_sse2(
    const aliquot_chain_layer *layer, int32_t c, const int32_t *values, const int32_t *offsets, int n, int16_t *out,
    const int width) {
    __m128i acc[16];
    for (int j = 0; j < 2 * width; j++) acc[j] = _mm_loadu_si128((const __m128i *)(layer->bias + 8 * c + 4 * j));
    const int16_t *base = layer->weights + 16 * c;
    for (int k = 0; k < n; k++) {
        __m128i x = _mm_set1_epi32(values[k]);
        const int16_t *w = (const int16_t *)((const uint8_t *)base + offsets[k]);
        for (int j = 0; j < 2 * width; j++)
            acc[j] = _mm_add_epi32(acc[j], _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(w + 8 * j)), x));
    }
    __m128i rounding = _mm_set1_epi64x((long long)layer->rounding);
    __m128i shift = _mm_cvtsi64_si128((long long)layer->shift);
    __m128i ceiling = _mm_set1_epi16((short)layer->ceiling);
    for (int j = 0; j < width; j++) {
        const int32_t *m = layer->multiplier + 8 * (c + j);
        __m128i q = requantize_sse2(acc[2 * j], _mm_loadu_si128((const __m128i *)m), rounding, shift);
        __m128i r = requantize_sse2(acc[2 * j + 1], _mm_loadu_si128((const __m128i *)(m + 4)), rounding, shift);
        _mm_storeu_si128((__m128i *)(out + 8 * (c + j)), _mm_min_epi16(_mm_packs_epi32(q, r), ceiling));
    }
}

static void layer_sse2(const aliquot_chain_layer *layer, const int16_t *x, int16_t *out) {
    int32_t values[AQK_MAX_PAIRS], offsets[AQK_MAX_PAIRS];
    int n = gather_pairs(x, layer->pairs, layer->chunks * 32, values, offsets);
    // SSE2 blocks take at most four chunks (eight xmm accumulators).
    AQK_EACH_BLOCK(block_sse2, 4, layer->chunks, layer, c, values, offsets, n, out);
}

static int32_t last_dot_sse2(const int16_t *x, const int16_t *w, int32_t lanes) {
    __m128i dot = _mm_setzero_si128();
    for (int32_t i = 0; i < lanes; i += 8)
        dot = _mm_add_epi32(dot, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(w + i)), _mm_loadu_si128((const __m128i *)(x + i))));
    dot = _mm_add_epi32(dot, _mm_shuffle_epi32(dot, _MM_SHUFFLE(1, 0, 3, 2)));
    dot = _mm_add_epi32(dot, _mm_shuffle_epi32(dot, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(dot);
}

/// The 256-bit kernels differ only in the multiply-adds: pairs by vpmaddwd + vpaddd or VNNI's
/// vpdpwssd; quads (unsigned 8-bit inputs times signed 8-bit weights, half the instructions of
/// the 16-bit pairs; products and sums exact, so the same bits) by VNNI's vpdpbusd.
#define AQK_MADD_AVX2(acc, w, x) _mm256_add_epi32(acc, _mm256_madd_epi16(w, x))
#define AQK_MADD_AVXVNNI(acc, w, x) _mm256_dpwssd_avx_epi32(acc, w, x)
#define AQK_MADD_AVX512VNNI(acc, w, x) _mm256_dpwssd_epi32(acc, w, x)
#define AQK_QUAD_AVXVNNI(acc, w, x) _mm256_dpbusd_avx_epi32(acc, x, w)
#define AQK_QUAD_AVX512VNNI(acc, w, x) _mm256_dpbusd_epi32(acc, x, w)

/// ReLU and the requantization of eight channels. With shift >= 32, x >> shift is the high 32
/// bits of x shifted by shift - 32: the even and odd channels' 64-bit products give their high
/// halves, which one blend puts in channel order for one 32-bit shift (`high_shift`, each lane
/// shift - 32). In-lane shuffles bring the odd channels down for vpmuludq, which reads only the
/// low half of each 64-bit lane.
__attribute__((always_inline, target("avx2"))) static inline __m256i requantize_256(
    __m256i acc, __m256i multiplier, __m256i rounding, __m256i high_shift) {
    __m256i positive = _mm256_max_epi32(acc, _mm256_setzero_si256());
    __m256i even = _mm256_add_epi64(_mm256_mul_epu32(positive, multiplier), rounding);
    __m256i odd = _mm256_add_epi64(_mm256_mul_epu32(_mm256_shuffle_epi32(positive, _MM_SHUFFLE(3, 3, 1, 1)),
                                                    _mm256_shuffle_epi32(multiplier, _MM_SHUFFLE(3, 3, 1, 1))),
                                   rounding);
    __m256i high = _mm256_blend_epi32(_mm256_shuffle_epi32(even, _MM_SHUFFLE(3, 3, 1, 1)), odd, 0xAA);
    return _mm256_srlv_epi32(high, high_shift);
}

/// The eight int32 lanes of `x` added up (wrapping).
__attribute__((always_inline, target("avx2"))) static inline int32_t sum_lanes_256(__m256i x) {
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, _MM_SHUFFLE(1, 0, 3, 2)));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(sum);
}

/// Chunk `c` of `layer` requantized from `acc`, as eight int16 lanes (four pairs) in the low
/// half.
__attribute__((always_inline, target("avx2"))) static inline __m256i requantize_to_words(
    const aliquot_chain_layer *layer, __m256i acc, int32_t c) {
    __m256i q = requantize_256(acc, _mm256_loadu_si256((const __m256i *)(layer->multiplier + 8 * c)),
                               _mm256_set1_epi64x((long long)layer->rounding),
                               _mm256_set1_epi32((int32_t)layer->shift - 32));
    return _mm256_zextsi128_si256(_mm_min_epi16(_mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)),
                                                _mm_set1_epi16((short)layer->ceiling)));
}

/// The same as eight bytes (two quads), for a layer whose outputs are all within 0...255.
__attribute__((always_inline, target("avx2"))) static inline __m256i requantize_to_bytes(
    const aliquot_chain_layer *layer, __m256i acc, int32_t c) {
    __m128i words = _mm256_castsi256_si128(requantize_to_words(layer, acc, c));
    return _mm256_zextsi128_si256(_mm_packus_epi16(words, words));
}

/// `width` chunks of `layer` from chunk `c` on requantized from `acc`, two per 256-bit step:
/// stored to `out` when given, and multiplied into `dot` with `last_weights` when given (the
/// last hidden layer feeding the last layer's dot product).
#define AQK_DEFINE_REQUANTIZE_CHUNKS(NAME, TARGET, MADD)                                                              \
    __attribute__((always_inline, target(TARGET))) static inline void NAME(                                            \
        const aliquot_chain_layer *layer, int32_t c, const __m256i *acc, int16_t *_Nullable out,                      \
        const int16_t *_Nullable last_weights, __m256i *dot, const int width) {                                        \
        __m256i rounding = _mm256_set1_epi64x((long long)layer->rounding);                                             \
        __m256i high_shift = _mm256_set1_epi32((int32_t)layer->shift - 32);                                            \
        __m256i ceiling = _mm256_set1_epi16((short)layer->ceiling);                                                    \
        const int32_t *m = layer->multiplier + 8 * c;                                                                  \
        int j = 0;                                                                                                     \
        _Pragma("unroll") for (; j + 1 < width; j += 2) {                                                              \
            __m256i q0 = requantize_256(acc[j], _mm256_loadu_si256((const __m256i *)(m + 8 * j)), rounding,           \
                                        high_shift);                                                                   \
            __m256i q1 = requantize_256(acc[j + 1], _mm256_loadu_si256((const __m256i *)(m + 8 * j + 8)), rounding,   \
                                        high_shift);                                                                   \
            __m256i packed = _mm256_min_epi16(                                                                         \
                _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), _MM_SHUFFLE(3, 1, 2, 0)), ceiling);               \
            if (out) _mm256_storeu_si256((__m256i *)(out + 8 * (c + j)), packed);                                      \
            if (last_weights)                                                                                          \
                *dot = MADD(*dot, _mm256_loadu_si256((const __m256i *)(last_weights + 8 * (c + j))), packed);          \
        }                                                                                                              \
        if (j < width) {                                                                                               \
            __m256i q = requantize_256(acc[j], _mm256_loadu_si256((const __m256i *)(m + 8 * j)), rounding, high_shift);\
            __m128i packed = _mm_min_epi16(_mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)), \
                                           _mm256_castsi256_si128(ceiling));                                           \
            if (out) _mm_storeu_si128((__m128i *)(out + 8 * (c + j)), packed);                                         \
            if (last_weights) {                                                                                        \
                __m128i w = _mm_loadu_si128((const __m128i *)(last_weights + 8 * (c + j)));                            \
                *dot = _mm256_add_epi32(*dot, _mm256_zextsi128_si256(_mm_madd_epi16(w, packed)));                      \
            }                                                                                                          \
        }                                                                                                              \
    }

/// A block of `width` chunks (8 channels, one ymm accumulator each) from chunk `c` on, for input
/// pairs (16-bit weights, MADD) or quads (8-bit weights, the quad multiply-add): either way a
/// chunk's weights for one input group are 32 bytes, `offsets` in bytes. Two accumulator sets
/// (even and odd groups) overlap the multiply-add latency; wrapping int32 sums do not depend on
/// the order. Then REQUANTIZE (AQK_DEFINE_REQUANTIZE_CHUNKS) stores the channels and, on the last
/// hidden layer, takes them into the last dot product.
#define AQK_DEFINE_BLOCK_256(NAME, TARGET, MADD, REQUANTIZE)                                                           \
    __attribute__((always_inline, target(TARGET))) static inline void NAME(                                            \
        const aliquot_chain_layer *layer, const uint8_t *weights, int32_t c, const int32_t *values,                   \
        const int32_t *offsets, int n, int16_t *out, const int16_t *_Nullable last_weights, __m256i *dot,             \
        const int width) {                                                                                             \
        __m256i acc[8], odd[8];                                                                                        \
        for (int j = 0; j < width; j++) {                                                                              \
            acc[j] = _mm256_loadu_si256((const __m256i *)(layer->bias + 8 * (c + j)));                                 \
            odd[j] = _mm256_setzero_si256();                                                                           \
        }                                                                                                              \
        const uint8_t *base = weights + 32 * c;                                                                        \
        int k = 0;                                                                                                     \
        for (; k + 1 < n; k += 2) {                                                                                    \
            __m256i x0 = _mm256_set1_epi32(values[k]), x1 = _mm256_set1_epi32(values[k + 1]);                          \
            const uint8_t *w0 = base + offsets[k], *w1 = base + offsets[k + 1];                                        \
            for (int j = 0; j < width; j++) {                                                                          \
                acc[j] = MADD(acc[j], _mm256_loadu_si256((const __m256i *)(w0 + 32 * j)), x0);                         \
                odd[j] = MADD(odd[j], _mm256_loadu_si256((const __m256i *)(w1 + 32 * j)), x1);                         \
            }                                                                                                          \
        }                                                                                                              \
        if (k < n) {                                                                                                   \
            __m256i x = _mm256_set1_epi32(values[k]);                                                                  \
            const uint8_t *w = base + offsets[k];                                                                      \
            for (int j = 0; j < width; j++) acc[j] = MADD(acc[j], _mm256_loadu_si256((const __m256i *)(w + 32 * j)), x); \
        }                                                                                                              \
        for (int j = 0; j < width; j++) acc[j] = _mm256_add_epi32(acc[j], odd[j]);                                     \
        REQUANTIZE(layer, c, acc, out, last_weights, dot, width);                                                      \
    }

/// One hidden layer on 256-bit vectors: its nonzero pairs, or with QUADS and quad weights its
/// nonzero quads (the inputs as bytes, all within 0...255), then its chunks in blocks of up to 8.
#define AQK_DEFINE_LAYER_256(SUFFIX, TARGET, MADD, QUADS, QUAD_MADD)                                                  \
    AQK_DEFINE_REQUANTIZE_CHUNKS(requantize_chunks_##SUFFIX, TARGET, MADD)                                            \
    AQK_DEFINE_BLOCK_256(pair_block_##SUFFIX, TARGET, MADD, requantize_chunks_##SUFFIX)                               \
    AQK_DEFINE_BLOCK_256(quad_block_##SUFFIX, TARGET, QUAD_MADD, requantize_chunks_##SUFFIX)                          \
    __attribute__((target(TARGET))) static void layer_##SUFFIX(                                                        \
        const aliquot_chain_layer *layer, const int16_t *x, int16_t *out, const int16_t *_Nullable last_weights,       \
        __m256i *dot) {                                                                                                \
        int32_t values[AQK_MAX_PAIRS], offsets[AQK_MAX_PAIRS];                                                         \
        int32_t stride = layer->chunks * 32;                                                                           \
        if (QUADS && layer->quad_weights) {                                                                            \
            uint8_t bytes[4 * AQK_MAX_PAIRS];                                                                          \
            for (int32_t i = 0; i < 4 * layer->quads; i += 16)                                                         \
                _mm_storeu_si128((__m128i *)(bytes + i),                                                               \
                                 _mm_packus_epi16(_mm_loadu_si128((const __m128i *)(x + i)),                           \
                                                  _mm_loadu_si128((const __m128i *)(x + i + 8))));                     \
            int n = 0;                                                                                                 \
            for (int32_t k = 0; k < layer->quads; k++) {                                                               \
                int32_t v;                                                                                             \
                __builtin_memcpy(&v, bytes + 4 * k, sizeof v);                                                         \
                values[n] = v;                                                                                         \
                offsets[n] = k * stride;                                                                               \
                n += v != 0;                                                                                           \
            }                                                                                                          \
            const uint8_t *weights = (const uint8_t *)layer->quad_weights;                                             \
            AQK_EACH_BLOCK(quad_block_##SUFFIX, 8, layer->chunks, layer, weights, c, values, offsets, n, out,          \
                           last_weights, dot);                                                                         \
        } else {                                                                                                       \
            int n = gather_pairs(x, layer->pairs, stride, values, offsets);                                            \
            const uint8_t *weights = (const uint8_t *)layer->weights;                                                  \
            AQK_EACH_BLOCK(pair_block_##SUFFIX, 8, layer->chunks, layer, weights, c, values, offsets, n, out,          \
                           last_weights, dot);                                                                         \
        }                                                                                                              \
    }

AQK_DEFINE_LAYER_256(avx2, "avx2", AQK_MADD_AVX2, 0, AQK_MADD_AVX2)
AQK_DEFINE_LAYER_256(avxvnni, "avx2,avxvnni", AQK_MADD_AVXVNNI, 1, AQK_QUAD_AVXVNNI)
AQK_DEFINE_LAYER_256(avx512vnni, "avx2,avx512f,avx512vl,avx512vnni", AQK_MADD_AVX512VNNI, 1, AQK_QUAD_AVX512VNNI)

/// The whole row: input quantization, the hidden layers, the last layer's dot product folded
/// into the last hidden one.
#define AQK_DEFINE_CHAIN(SUFFIX, TARGET)                                                                              \
    __attribute__((target(TARGET))) static int32_t chain_##SUFFIX(                                                     \
        const float *input, const aliquot_chain_input *quantization, const aliquot_chain_layer *layers,                 \
        int32_t hidden_count, int16_t *const *activations, const int16_t *last_weights, int32_t last_bias) {           \
        quantize_input_avx2(input, quantization, activations[0]);                                                      \
        __m256i dot = _mm256_setzero_si256();                                                                          \
        for (int32_t l = 0; l < hidden_count; l++)                                                                     \
            layer_##SUFFIX(&layers[l], activations[l], activations[l + 1], l == hidden_count - 1 ? last_weights : NULL, &dot); \
        return (int32_t)((uint32_t)sum_lanes_256(dot) + (uint32_t)last_bias);                                          \
    }

AQK_DEFINE_CHAIN(avx2, "avx2")
AQK_DEFINE_CHAIN(avxvnni, "avx2,avxvnni")
AQK_DEFINE_CHAIN(avx512vnni, "avx2,avx512f,avx512vl,avx512vnni")

/// The published shape in one pass through registers. Each layer-1 chunk, once requantized, is
/// at once a group of layer 2's inputs (two quads of bytes with QUADS, VNNI; four pairs of
/// int16 without, AVX2) and is multiplied into all of layer 2's accumulators, so the layers
/// overlap instead of waiting for each other through memory; layer 2's channels go into the
/// last dot product as they are requantized. Zero inputs are multiplied like the others (the
/// sums are the same): no gathering, no data-dependent branches. The same integer arithmetic
/// as chain_*, so the same bits. The sizes come as arguments: `first_pairs` (layer 0's input
/// pairs), `middle_groups` (layer 1's input quads when `middle_quads`, else pairs),
/// `middle_chunks`, `last_groups` and `width` (layer 2's input quads or pairs, and chunks).
/// Given as constants, every loop unrolls into straight-line code with the accumulators in
/// registers.
#define AQK_DEFINE_FUSED(SUFFIX, TARGET, MADD, QUAD, QUADS)                                                           \
    __attribute__((always_inline, target(TARGET))) static inline int32_t fused_shape_##SUFFIX(                         \
        const float *input, const aliquot_chain_input *quantization, const aliquot_chain_layer *layers,                 \
        const int16_t *last_weights, int32_t last_bias, const int32_t first_pairs, const int middle_quads,             \
        const int32_t middle_groups, const int32_t middle_chunks, const int32_t last_groups, const int width) {         \
        const aliquot_chain_layer *first = &layers[0], *middle = &layers[1], *last = &layers[2];                      \
        /* Layer 0: pairs of the quantized inputs, broadcast from the register. */                                     \
        __m256i inputs = _mm256_zextsi128_si256(quantize_eight_avx2(input, quantization->count, quantization));        \
        /* (Each multiply-add chain is split in two, even and odd terms, to halve its latency.) */                     \
        __m256i acc[2] = {_mm256_loadu_si256((const __m256i *)first->bias), _mm256_setzero_si256()};                   \
        _Pragma("unroll") for (int32_t p = 0; p < first_pairs; p++)                                                    \
            acc[p & 1] = MADD(acc[p & 1], _mm256_loadu_si256((const __m256i *)(first->weights + 16 * p)),              \
                              _mm256_permutevar8x32_epi32(inputs, _mm256_set1_epi32(p)));                              \
        /* Layer 0's outputs as layer 1 takes them: bytes for quads, int16 lanes for pairs. */                        \
        __m256i sum0 = _mm256_add_epi32(acc[0], acc[1]);                                                               \
        __m256i outputs = middle_quads ? requantize_to_bytes(first, sum0, 0) : requantize_to_words(first, sum0, 0);    \
        /* Layer 2's accumulators, fed by each layer-1 chunk in turn. */                                               \
        __m256i total[8];                                                                                              \
        for (int j = 0; j < width; j++) total[j] = _mm256_loadu_si256((const __m256i *)(last->bias + 8 * j));         \
        int32_t middle_stride = middle_chunks * 32, last_stride = width * 32;                                          \
        __m256i broadcast[4];                                                                                          \
        for (int32_t p = 0; p < 4; p++) broadcast[p] = _mm256_permutevar8x32_epi32(outputs, _mm256_set1_epi32(p));     \
        const uint8_t *middle_weights =                                                                                \
            middle_quads ? (const uint8_t *)middle->quad_weights : (const uint8_t *)middle->weights;                   \
        const uint8_t *last_columns = QUADS ? (const uint8_t *)last->quad_weights : (const uint8_t *)last->weights;    \
        _Pragma("unroll") for (int32_t c = 0; c < middle_chunks; c++) {                                                \
            __m256i sum = _mm256_loadu_si256((const __m256i *)(middle->bias + 8 * c));                                 \
            const uint8_t *w = middle_weights + 32 * c;                                                                \
            _Pragma("unroll") for (int32_t g = 0; g < middle_groups; g++) {                                            \
                __m256i column = _mm256_loadu_si256((const __m256i *)(w + g * middle_stride));                         \
                sum = middle_quads ? QUAD(sum, column, broadcast[g]) : MADD(sum, column, broadcast[g]);                \
            }                                                                                                          \
            /* This chunk as layer 2's input groups 2c, 2c + 1 (quads) or 4c ... 4c + 3 (pairs). */                   \
            const int per_chunk = QUADS ? 2 : 4;                                                                       \
            __m256i groups = QUADS ? requantize_to_bytes(middle, sum, c) : requantize_to_words(middle, sum, c);        \
            for (int32_t h = 0; h < per_chunk && per_chunk * c + h < last_groups; h++) {                               \
                __m256i broadcast = _mm256_permutevar8x32_epi32(groups, _mm256_set1_epi32(h));                          \
                const uint8_t *v = last_columns + (per_chunk * c + h) * last_stride;                                   \
                for (int j = 0; j < width; j++) {                                                                      \
                    __m256i column = _mm256_loadu_si256((const __m256i *)(v + 32 * j));                                \
                    total[j] = QUADS ? QUAD(total[j], column, broadcast) : MADD(total[j], column, broadcast);          \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        /* Layer 2 requantized straight into the last dot product. */                                                 \
        __m256i dot = _mm256_setzero_si256();                                                                          \
        requantize_chunks_##SUFFIX(last, 0, total, NULL, last_weights, &dot, width);                                   \
        return (int32_t)((uint32_t)sum_lanes_256(dot) + (uint32_t)last_bias);                                          \
    }                                                                                                                  \
    __attribute__((target(TARGET))) static int32_t fused_##SUFFIX(                                                     \
        const float *input, const aliquot_chain_input *quantization, const aliquot_chain_layer *layers,                 \
        const int16_t *last_weights, int32_t last_bias) {                                                              \
        const aliquot_chain_layer *first = &layers[0], *middle = &layers[1], *last = &layers[2];                      \
        int middle_quads = QUADS && middle->quad_weights != NULL;                                                      \
        int32_t middle_groups = middle_quads ? middle->quads : middle->pairs;                                          \
        int32_t last_groups = QUADS ? last->quads : last->pairs;                                                       \
        /* The published 5 (or 6) -> 5 -> 50 -> 50 in both activation mixes, with its sizes as */                     \
        /* constants: about a third faster than the general form below. */                                             \
        if (first->pairs == 3 && middle->chunks == 7 && last_groups == (QUADS ? 13 : 25) && last->chunks == 7) {       \
            if (middle_quads && middle_groups == 2)                                                                    \
                return fused_shape_##SUFFIX(input, quantization, layers, last_weights, last_bias, 3, 1, 2, 7,          \
                                            QUADS ? 13 : 25, 7);                                                       \
            if (!middle_quads && middle_groups == 3)                                                                   \
                return fused_shape_##SUFFIX(input, quantization, layers, last_weights, last_bias, 3, 0, 3, 7,          \
                                            QUADS ? 13 : 25, 7);                                                       \
        }                                                                                                              \
        int32_t result = 0;                                                                                            \
        AQK_WITH_WIDTH(result = fused_shape_##SUFFIX, last->chunks, input, quantization, layers, last_weights,         \
                       last_bias, first->pairs, middle_quads, middle_groups, middle->chunks, last_groups)              \
        return result;                                                                                                 \
    }

// The general form's loops have bounds known only at run time: they stay loops, which is not
// worth a warning.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
AQK_DEFINE_FUSED(avx2, "avx2", AQK_MADD_AVX2, AQK_MADD_AVX2, 0)
AQK_DEFINE_FUSED(avxvnni, "avx2,avxvnni", AQK_MADD_AVXVNNI, AQK_QUAD_AVXVNNI, 1)
AQK_DEFINE_FUSED(avx512vnni, "avx2,avx512f,avx512vl,avx512vnni", AQK_MADD_AVX512VNNI, AQK_QUAD_AVX512VNNI, 1)
#pragma clang diagnostic pop

#endif

// MARK: - aarch64: NEON (every ARMv8-A core; the Pi 5's Cortex-A76 too)

#if defined(__aarch64__)

/// pmaddwd on NEON: (w0·x0 + w1·x1, ...) from smull, smull2 and a pairwise add.
AQK_INLINE int32x4_t madd_neon(int32x4_t acc, int16x8_t w, int16x8_t x) {
    int32x4_t low = vmull_s16(vget_low_s16(w), vget_low_s16(x));
    int32x4_t high = vmull_high_s16(w, x);
    return vaddq_s32(acc, vpaddq_s32(low, high));
}

AQK_INLINE int32x4_t requantize_neon(int32x4_t acc, int32x4_t multiplier, uint64x2_t rounding, int64x2_t right) {
    uint32x4_t positive = vreinterpretq_u32_s32(vmaxq_s32(acc, vdupq_n_s32(0)));
    uint32x4_t m = vreinterpretq_u32_s32(multiplier);
    uint64x2_t low = vshlq_u64(vaddq_u64(vmull_u32(vget_low_u32(positive), vget_low_u32(m)), rounding), right);
    uint64x2_t high = vshlq_u64(vaddq_u64(vmull_high_u32(positive, m), rounding), right);
    return vreinterpretq_s32_u32(vcombine_u32(vmovn_u64(low), vmovn_u64(high)));
}

/// Chunk `c` of `layer` (channels 0-3 in `low`, 4-7 in `high`) requantized to eight int16 lanes.
AQK_INLINE int16x8_t requantize_chunk_neon(const aliquot_chain_layer *layer, int32x4_t low, int32x4_t high, int32_t c) {
    uint64x2_t rounding = vdupq_n_u64(layer->rounding);
    int64x2_t right = vdupq_n_s64(-(int64_t)layer->shift);
    const int32_t *m = layer->multiplier + 8 * c;
    int32x4_t q = requantize_neon(low, vld1q_s32(m), rounding, right);
    int32x4_t r = requantize_neon(high, vld1q_s32(m + 4), rounding, right);
    return vminq_s16(vcombine_s16(vqmovn_s32(q), vqmovn_s32(r)), vdupq_n_s16((int16_t)layer->ceiling));
}

AQK_INLINE void block_neon(
    const aliquot_chain_layer *layer, int32_t c, const int32_t *values, const int32_t *offsets, int n, int16_t *out,
    const int width) {
    // Two q registers per chunk: up to 16 of NEON's 32.
    int32x4_t acc[16];
    for (int j = 0; j < 2 * width; j++) acc[j] = vld1q_s32(layer->bias + 8 * c + 4 * j);
    const int16_t *base = layer->weights + 16 * c;
    for (int k = 0; k < n; k++) {
        int16x8_t x = vreinterpretq_s16_s32(vdupq_n_s32(values[k]));
        const int16_t *w = (const int16_t *)((const uint8_t *)base + offsets[k]);
        for (int j = 0; j < 2 * width; j++) acc[j] = madd_neon(acc[j], vld1q_s16(w + 8 * j), x);
    }
    for (int j = 0; j < width; j++) vst1q_s16(out + 8 * (c + j), requantize_chunk_neon(layer, acc[2 * j], acc[2 * j + 1], c + j));
}

static void layer_neon(const aliquot_chain_layer *layer, const int16_t *x, int16_t *out) {
    int32_t values[AQK_MAX_PAIRS], offsets[AQK_MAX_PAIRS];
    int n = gather_pairs(x, layer->pairs, layer->chunks * 32, values, offsets);
    AQK_EACH_BLOCK(block_neon, 8, layer->chunks, layer, c, values, offsets, n, out);
}

static int32_t last_dot_neon(const int16_t *x, const int16_t *w, int32_t lanes) {
    int32x4_t dot = vdupq_n_s32(0);
    for (int32_t i = 0; i < lanes; i += 8) dot = madd_neon(dot, vld1q_s16(w + i), vld1q_s16(x + i));
    return vaddvq_s32(dot);
}

/// Quad `lane` (0 or 1) of `x` (signed bytes) into the 2 × `width` accumulators from the quad's
/// weights `v` (sdot by element: four channels by four inputs each).
#define AQK_QUAD_NEONDOT(total, v, x, lane, width)                                                                    \
    for (int j = 0; j < (width); j++) {                                                                                \
        total[2 * j] = vdotq_lane_s32(total[2 * j], vld1q_s8((v) + 32 * j), x, lane);                                  \
        total[2 * j + 1] = vdotq_lane_s32(total[2 * j + 1], vld1q_s8((v) + 32 * j + 16), x, lane);                     \
    }

/// The published shape in one pass through registers with the ARMv8.2 dot product, as fused_*
/// on x86-64: layers 0 and 1 by int16 pairs, each layer-1 chunk then two quads of layer 2's
/// inputs, multiplied at once into all of layer 2's accumulators by sdot. sdot multiplies signed
/// bytes, so the inputs (0...255) go in as x - 128 and the accumulators start from quad_bias
/// (bias + 128 · Σ weights): the same sums. Sizes as fused_shape_* takes them; as constants,
/// the loops unroll.
__attribute__((always_inline, target("dotprod"))) static inline int32_t fused_shape_neondot(
    const float *input, const aliquot_chain_input *quantization, const aliquot_chain_layer *layers,
    const int16_t *last_weights, int32_t last_bias, const int32_t first_pairs, const int32_t middle_pairs,
    const int32_t middle_chunks, const int32_t last_quads, const int width) {
    const aliquot_chain_layer *first = &layers[0], *middle = &layers[1], *last = &layers[2];
    int16_t quantized[8] = {0};
    quantize_input(input, quantization, quantized);
    int32x4_t low = vld1q_s32(first->bias), high = vld1q_s32(first->bias + 4);
    _Pragma("unroll") for (int32_t p = 0; p < first_pairs; p++) {
        int32_t pair;
        __builtin_memcpy(&pair, quantized + 2 * p, sizeof pair);
        int16x8_t x = vreinterpretq_s16_s32(vdupq_n_s32(pair));
        low = madd_neon(low, vld1q_s16(first->weights + 16 * p), x);
        high = madd_neon(high, vld1q_s16(first->weights + 16 * p + 8), x);
    }
    int32x4_t outputs = vreinterpretq_s32_s16(requantize_chunk_neon(first, low, high, 0));
    int16x8_t pairs[4] = {
        vreinterpretq_s16_s32(vdupq_laneq_s32(outputs, 0)), vreinterpretq_s16_s32(vdupq_laneq_s32(outputs, 1)),
        vreinterpretq_s16_s32(vdupq_laneq_s32(outputs, 2)), vreinterpretq_s16_s32(vdupq_laneq_s32(outputs, 3))};
    int32x4_t total[16];
    for (int j = 0; j < 2 * width; j++) total[j] = vld1q_s32(last->quad_bias + 4 * j);
    int32_t middle_stride = middle_chunks * 16, last_stride = width * 32;
    _Pragma("unroll") for (int32_t c = 0; c < middle_chunks; c++) {
        int32x4_t sum_low = vld1q_s32(middle->bias + 8 * c), sum_high = vld1q_s32(middle->bias + 8 * c + 4);
        const int16_t *w = middle->weights + 16 * c;
        _Pragma("unroll") for (int32_t p = 0; p < middle_pairs; p++) {
            sum_low = madd_neon(sum_low, vld1q_s16(w + p * middle_stride), pairs[p]);
            sum_high = madd_neon(sum_high, vld1q_s16(w + p * middle_stride + 8), pairs[p]);
        }
        int16x8_t words = requantize_chunk_neon(middle, sum_low, sum_high, c);
        int8x8_t quads = vmovn_s16(vsubq_s16(words, vdupq_n_s16(128)));
        const int8_t *v = last->quad_weights + 2 * c * last_stride;
        AQK_QUAD_NEONDOT(total, v, quads, 0, width)
        if (2 * c + 1 < last_quads) AQK_QUAD_NEONDOT(total, v + last_stride, quads, 1, width)
    }
    int32x4_t dot = vdupq_n_s32(0);
    for (int j = 0; j < width; j++)
        dot = madd_neon(dot, vld1q_s16(last_weights + 8 * j), requantize_chunk_neon(last, total[2 * j], total[2 * j + 1], j));
    return (int32_t)((uint32_t)vaddvq_s32(dot) + (uint32_t)last_bias);
}

// As on x86-64, the general form's loops stay loops.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
__attribute__((target("dotprod"))) static int32_t fused_neondot(
    const float *input, const aliquot_chain_input *quantization, const aliquot_chain_layer *layers,
    const int16_t *last_weights, int32_t last_bias) {
    const aliquot_chain_layer *first = &layers[0], *middle = &layers[1], *last = &layers[2];
    // The published 5 (or 6) -> 5 -> 50 -> 50 with its sizes as constants.
    if (first->pairs == 3 && middle->pairs == 3 && middle->chunks == 7 && last->quads == 13 && last->chunks == 7)
        return fused_shape_neondot(input, quantization, layers, last_weights, last_bias, 3, 3, 7, 13, 7);
    int32_t result = 0;
    AQK_WITH_WIDTH(result = fused_shape_neondot, last->chunks, input, quantization, layers, last_weights, last_bias,
                   first->pairs, middle->pairs, middle->chunks, last->quads)
    return result;
}
#pragma clang diagnostic pop

/// Whether this core has the ARMv8.2 dot product (sdot), asked of the kernel once.
static int neon_dot_available(void) {
    // 0: not asked yet, 1: no, 2: yes (racing first calls store the same value).
    static int32_t known = 0;
    int32_t value = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (value == 0) {
#if defined(__linux__)
        value = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? 2 : 1;
#else
        value = 1;
#endif
        __atomic_store_n(&known, value, __ATOMIC_RELAXED);
    }
    return value == 2;
}

#endif

// MARK: - dispatch

typedef void (*layer_function)(const aliquot_chain_layer *, const int16_t *, int16_t *);

static int32_t chain_generic(
    layer_function layer, int32_t (*last_dot)(const int16_t *, const int16_t *, int32_t), const float *input,
    const aliquot_chain_input *quantization, const aliquot_chain_layer *layers, int32_t hidden_count,
    int16_t *const *activations, const int16_t *last_weights, int32_t last_bias) {
    quantize_input(input, quantization, activations[0]);
    for (int32_t l = 0; l < hidden_count; l++) layer(&layers[l], activations[l], activations[l + 1]);
    int32_t dot = last_dot(activations[hidden_count], last_weights, layers[hidden_count - 1].chunks * 8);
    return (int32_t)((uint32_t)dot + (uint32_t)last_bias);
}

static int32_t detect_best_variant(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avxvnni")) return AQK_VARIANT_AVXVNNI;
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")) return AQK_VARIANT_AVX512VNNI;
    if (__builtin_cpu_supports("avx2")) return AQK_VARIANT_AVX2;
    return AQK_VARIANT_SSE2;
#elif defined(__aarch64__)
    // Checked bit for bit against the scalar variant under qemu-user (make kernel-check).
    return neon_dot_available() ? AQK_VARIANT_NEON_DOT : AQK_VARIANT_NEON;
#else
    return AQK_VARIANT_SCALAR;
#endif
}

int32_t aliquot_kernel_best_variant(void) {
    // Racing first calls compute and store the same value (relaxed atomics: no data race).
    static int32_t best = 0;
    int32_t variant = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (variant == 0) {
        variant = detect_best_variant();
        __atomic_store_n(&best, variant, __ATOMIC_RELAXED);
    }
    return variant;
}

int aliquot_kernel_variant_available(int32_t variant) {
    switch (variant) {
    case AQK_VARIANT_BEST:
    case AQK_VARIANT_SCALAR: return 1;
#if defined(__x86_64__)
    case AQK_VARIANT_SSE2: return 1;
    case AQK_VARIANT_AVX2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2") != 0;
    case AQK_VARIANT_AVXVNNI: __builtin_cpu_init(); return __builtin_cpu_supports("avxvnni") != 0;
    case AQK_VARIANT_AVX512VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
#endif
#if defined(__aarch64__)
    case AQK_VARIANT_NEON: return 1;
    case AQK_VARIANT_NEON_DOT: return neon_dot_available();
#endif
    default: return 0;
    }
}

const char *aliquot_kernel_variant_name(int32_t variant) {
    static const char *const names[AQK_VARIANT_COUNT] = {
        "best", "scalar", "sse2", "avx2", "avx-vnni", "avx512-vnni", "neon", "neon-dot"};
    return variant >= 0 && variant < AQK_VARIANT_COUNT ? names[variant] : "unknown";
}

int32_t aliquot_chain_predict(
    int32_t variant, const float *input, const aliquot_chain_input *quantization, const aliquot_chain_layer *layers, int32_t hidden_count, int16_t *const *activations,
    const int16_t *last_weights, int32_t last_bias) {
    if (variant == AQK_VARIANT_BEST) variant = aliquot_kernel_best_variant();
    switch (variant) {
#if defined(__x86_64__)
    case AQK_VARIANT_AVXVNNI:
        if (fused_fits(quantization, layers, hidden_count, 1)) return fused_avxvnni(input, quantization, layers, last_weights, last_bias);
        return chain_avxvnni(input, quantization, layers, hidden_count, activations, last_weights, last_bias);
    case AQK_VARIANT_AVX512VNNI:
        if (fused_fits(quantization, layers, hidden_count, 1))
            return fused_avx512vnni(input, quantization, layers, last_weights, last_bias);
        return chain_avx512vnni(input, quantization, layers, hidden_count, activations, last_weights, last_bias);
    case AQK_VARIANT_AVX2:
        if (fused_fits(quantization, layers, hidden_count, 0)) return fused_avx2(input, quantization, layers, last_weights, last_bias);
        return chain_avx2(input, quantization, layers, hidden_count, activations, last_weights, last_bias);
    case AQK_VARIANT_SSE2:
        return chain_generic(layer_sse2, last_dot_sse2, input, quantization, layers, hidden_count, activations, last_weights, last_bias);
#endif
#if defined(__aarch64__)
    case AQK_VARIANT_NEON_DOT:
        if (!neon_dot_available()) break;
        if (fused_fits(quantization, layers, hidden_count, 1) && layers[2].quad_bias)
            return fused_neondot(input, quantization, layers, last_weights, last_bias);
        return chain_generic(layer_neon, last_dot_neon, input, quantization, layers, hidden_count, activations, last_weights, last_bias);
    case AQK_VARIANT_NEON:
        return chain_generic(layer_neon, last_dot_neon, input, quantization, layers, hidden_count, activations, last_weights, last_bias);
#endif
    default: break;
    }
    return chain_generic(layer_scalar, last_dot_scalar, input, quantization, layers, hidden_count, activations, last_weights, last_bias);
}
