/* Instantiates the element kernels for one ISA; FI_ISA is set by the build (base, avx2, avx512,
 * avx512ifma, neon, sve). */
#include <stdint.h>
#include <string.h>
#include <math.h>
#include "kernels.h"
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__ARM_FEATURE_SVE)
#include <arm_sve.h>
#elif defined(__ARM_NEON) && defined(FI_NEON_INTRINSICS)
#include <arm_neon.h>
#endif

#ifndef FI_ISA
#define FI_ISA base
#endif
/* Lane-parallel PCG64 pays off only with native 64-bit vector multiplies: 1 with AVX-512DQ,
 * 2 with AVX-512 IFMA's 52-bit multiply-adds, 3 with SVE's 64-bit multiplies (used from 512-bit
 * vectors up, see below). */
#ifndef FI_VECTOR_PCG
#define FI_VECTOR_PCG 0
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FI_NAME(x) CAT(CAT(x, _), FI_ISA)
#define STR_(a) #a
#define CAT_STR(a) STR_(a)

#if defined(__AVX512F__)
/* A vector's share of the normal kernel's tail list (kernel_body.h): the words and indices of
 * the flagged lanes compressed to the front. E: lane width (epi32, epi64), M: its mask type,
 * IOTA: the lane numbers. */
#define COMPRESS_STEP_OF(E, M, IOTA, w, fl, i, wv, idx, c) do {                               \
        M k_ = _mm512_test_##E##_mask(_mm512_loadu_si512((const void *)((fl) + (i))),         \
                                     _mm512_set1_##E(-1));                                    \
        __m512i i_ = _mm512_add_##E(_mm512_set1_##E(i), IOTA);                                \
        _mm512_storeu_si512((void *)((wv) + (c)),                                             \
            _mm512_maskz_compress_##E(k_, _mm512_loadu_si512((const void *)((w) + (i)))));     \
        _mm512_storeu_si512((void *)((idx) + (c)), _mm512_maskz_compress_##E(k_, i_));         \
        (c) += FI_POPCOUNT32((unsigned)k_);                                                   \
    } while (0)
#endif

#if defined(__ARM_FEATURE_SVE)
/* The same with SVE's compact, for any vector length: only the flagged lanes are stored, so the
 * lists never overrun. BITS: lane width (32, 64). */
#define COMPRESS_STEP_OF(BITS, w, fl, i, wv, idx, c) do {                                     \
        const svbool_t all_ = CAT(svptrue_b, BITS)();                                          \
        const svbool_t k_ = CAT(svcmpne_n_s, BITS)(all_, CAT(svld1_s, BITS)(all_, (fl) + (i)), 0); \
        const uint64_t n_ = CAT(svcntp_b, BITS)(all_, k_);                                     \
        const svbool_t st_ = CAT(CAT(svwhilelt_b, BITS), _u64)((uint64_t)0, n_);               \
        CAT(svst1_u, BITS)(st_, (wv) + (c), CAT(svcompact_u, BITS)(k_, CAT(svld1_u, BITS)(all_, (w) + (i)))); \
        CAT(svst1_s, BITS)(st_, (idx) + (c), CAT(svcompact_s, BITS)(k_, CAT(svindex_s, BITS)((CAT(CAT(int, BITS), _t))(i), 1))); \
        (c) += (int64_t)n_;                                                                    \
    } while (0)
#elif defined(__ARM_NEON) && defined(FI_NEON_INTRINSICS)
/* NEON has no compress: four 32-bit lanes are packed with a byte shuffle (tbl) looked up by
 * their 4-bit flag mask. Row m lists the lanes whose bit is set in m, first to last. */
#define L4_(a) 4 * (a), 4 * (a) + 1, 4 * (a) + 2, 4 * (a) + 3
#define L4(a, b, c, d) {L4_(a), L4_(b), L4_(c), L4_(d)}
static const uint8_t fi_pack4[16][16] = {
    L4(0, 0, 0, 0), L4(0, 0, 0, 0), L4(1, 0, 0, 0), L4(0, 1, 0, 0), L4(2, 0, 0, 0), L4(0, 2, 0, 0),
    L4(1, 2, 0, 0), L4(0, 1, 2, 0), L4(3, 0, 0, 0), L4(0, 3, 0, 0), L4(1, 3, 0, 0), L4(0, 1, 3, 0),
    L4(2, 3, 0, 0), L4(0, 2, 3, 0), L4(1, 2, 3, 0), L4(0, 1, 2, 3)};
#undef L4_
#undef L4
/* Stores four lanes at wv + c and idx + c (the lists have room for that overrun). */
#define COMPRESS_STEP_NEON4(w, fl, i, wv, idx, c) do {                                         \
        const int32x4_t f_ = vld1q_s32((const int32_t *)(fl) + (i));                          \
        const uint32x4_t k_ = vtstq_s32(f_, f_);                                               \
        static const uint32_t bit_[4] = {1, 2, 4, 8};                                          \
        static const int32_t iota_[4] = {0, 1, 2, 3};                                          \
        const uint8x16_t p_ = vld1q_u8(fi_pack4[vaddvq_u32(vandq_u32(k_, vld1q_u32(bit_)))]);  \
        const int32x4_t i_ = vaddq_s32(vdupq_n_s32((int32_t)(i)), vld1q_s32(iota_));          \
        vst1q_u32((uint32_t *)(wv) + (c),                                                      \
                  vreinterpretq_u32_u8(vqtbl1q_u8(vreinterpretq_u8_u32(vld1q_u32((const uint32_t *)(w) + (i))), p_))); \
        vst1q_s32((int32_t *)(idx) + (c), vreinterpretq_s32_u8(vqtbl1q_u8(vreinterpretq_u8_s32(i_), p_))); \
        (c) -= vaddvq_s32(vreinterpretq_s32_u32(k_));    /* each flagged lane adds -1 */     \
    } while (0)
#endif

/* ---- float instance: 32-bit words, AS 241 PPND7 (about 1e-7 relative) ---- */
#define T float
#define W uint32_t
#define UWORD uint32_t
#define P fi_params_f
#define SFX _f
#define SIGNED_U int32_t
#define SIGNED_K int32_t
#define UNIFORM_SHIFT 8
#define UNIFORM_SCALE 0x1p-24f
#define WORD_TO_K(x) (x)
#define K_MASK 0xffffffffu
#define K_HALF 0x80000000u
#define K_HALF_M1 0x7fffffffu
#define SCALE_B 0x1p-32f
#define LOG fi_log_f
#define SQRT FI_SQRTF
#define C_CONST1 0.180625f
#define C_CONST2 1.6f
#define HORNER_A(r) (((59.109374720f * (r) + 159.29113202f) * (r) + 50.434271938f) * (r) + 3.3871327179f)
#define HORNER_B(r) (((67.187563600f * (r) + 78.757757664f) * (r) + 17.895169469f) * (r) + 1.0f)
#define SEL(f, a, b) ((f) ? (a) : (b))
#define HALF_OUTPUTS 1
#if defined(__ARM_FEATURE_SVE)
/* Arm converts float to float16 in hardware, rounding to nearest even like fi_f16_bits (equal
 * on every float but NaN, which no sampler makes): one instruction instead of a dozen integer
 * operations. Only SVE code gets it, since GCC vectorises the conversion there but not with
 * NEON alone. */
static inline uint16_t fi_f16_bits_hw(float x)
{
    _Float16 h = (_Float16)x;
    uint16_t b;
    memcpy(&b, &h, 2);
    return b;
}
#define F16_BITS fi_f16_bits_hw
#else
#define F16_BITS fi_f16_bits
#endif
#define TAIL_NUM(x, f) (((SEL(f, 0.017337203997f, 0.17023821103f) * (x) + SEL(f, 0.42868294337f, 1.3067284816f)) * (x) \
                          + SEL(f, 3.0812263860f, 2.7568153900f)) * (x) + SEL(f, 6.6579051150f, 1.4234372777f))
#if defined(__AVX512F__)
#define COMPRESS_LANES 16
#define COMPRESS_STEP(w, fl, i, wv, idx, c) COMPRESS_STEP_OF(epi32, __mmask16, \
    _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), w, fl, i, wv, idx, c)
#elif defined(__ARM_FEATURE_SVE)
#define COMPRESS_LANES ((int64_t)svcntw())
#define COMPRESS_STEP(w, fl, i, wv, idx, c) COMPRESS_STEP_OF(32, w, fl, i, wv, idx, c)
#elif defined(__ARM_NEON) && defined(FI_NEON_INTRINSICS)
#define COMPRESS_LANES 4
#define COMPRESS_STEP(w, fl, i, wv, idx, c) COMPRESS_STEP_NEON4(w, fl, i, wv, idx, c)
#endif
#define TAIL_DEN(x, f) ((SEL(f, 0.012258202635f, 0.12021132975f) * (x) + SEL(f, 0.24197894225f, 0.73700164250f)) * (x) + 1.0f)
#include "kernel_body.h"
#undef T
#undef W
#undef UWORD
#undef P
#undef SFX
#undef SIGNED_U
#undef SIGNED_K
#undef UNIFORM_SHIFT
#undef UNIFORM_SCALE
#undef WORD_TO_K
#undef K_MASK
#undef K_HALF
#undef K_HALF_M1
#undef SCALE_B
#undef LOG
#undef SQRT
#undef C_CONST1
#undef C_CONST2
#undef HORNER_A
#undef HORNER_B
#undef TAIL_NUM
#undef TAIL_DEN
#undef HALF_OUTPUTS
#undef F16_BITS
#undef COMPRESS_LANES
#undef COMPRESS_STEP

/* ---- double instance: k = r >> 12 of a 64-bit draw, AS 241 PPND16 (about 1e-16) ---- */
#define T double
#define W uint64_t
#define UWORD uint64_t
#define P fi_params_d
#define SFX _d
#define SIGNED_U int64_t
#define SIGNED_K int64_t
#define UNIFORM_SHIFT 11
#define UNIFORM_SCALE 0x1p-53
#define WORD_TO_K(x) ((x) >> 12)
#define K_MASK 0xfffffffffffffULL
#define K_HALF 0x8000000000000ULL
#define K_HALF_M1 0x7ffffffffffffULL
#define SCALE_B 0x1p-52
#define LOG fi_log_d
#define SQRT FI_SQRT
#define C_CONST1 0.180625
#define C_CONST2 1.6
#define H8(x, c7, c6, c5, c4, c3, c2, c1, c0) \
    (((((((((c7) * (x) + (c6)) * (x) + (c5)) * (x) + (c4)) * (x) + (c3)) * (x) + (c2)) * (x) + (c1)) * (x)) + (c0))
#define HORNER_A(r) H8(r, 2.5090809287301226727e+03, 3.3430575583588128105e+04, 6.7265770927008700853e+04, \
    4.5921953931549871457e+04, 1.3731693765509461125e+04, 1.9715909503065514427e+03, 1.3314166789178437745e+02, \
    3.3871328727963666080e+00)
#define HORNER_B(r) H8(r, 5.2264952788528545610e+03, 2.8729085735721942674e+04, 3.9307895800092710610e+04, \
    2.1213794301586595867e+04, 5.3941960214247511077e+03, 6.8718700749205790830e+02, 4.2313330701600911252e+01, 1.0)
#define TAIL_NUM(x, f) H8(x, SEL(f, 2.01033439929228813265e-07, 7.74545014278341407640e-04), \
    SEL(f, 2.71155556874348757815e-05, 2.27238449892691845833e-02), SEL(f, 1.24266094738807843860e-03, 2.41780725177450611770e-01), \
    SEL(f, 2.65321895265761230930e-02, 1.27045825245236838258e+00), SEL(f, 2.96560571828504891230e-01, 3.64784832476320460504e+00), \
    SEL(f, 1.78482653991729133580e+00, 5.76949722146069140550e+00), SEL(f, 5.46378491116411436990e+00, 4.63033784615654529590e+00), \
    SEL(f, 6.65790464350110377720e+00, 1.42343711074968357734e+00))
#define TAIL_DEN(x, f) H8(x, SEL(f, 2.04426310338993978564e-15, 1.05075007164441684324e-09), \
    SEL(f, 1.42151175831644588870e-07, 5.47593808499534494600e-04), SEL(f, 1.84631831751005468180e-05, 1.51986665636164571966e-02), \
    SEL(f, 7.86869131145613259100e-04, 1.48103976427480074590e-01), SEL(f, 1.48753612908506148525e-02, 6.89767334985100004550e-01), \
    SEL(f, 1.36929880922735805310e-01, 1.67638483018380384940e+00), SEL(f, 5.99832206555887937690e-01, 2.05319162663775882187e+00), 1.0)
#if defined(__AVX512F__)
#define COMPRESS_LANES 8
#define COMPRESS_STEP(w, fl, i, wv, idx, c) COMPRESS_STEP_OF(epi64, __mmask8, \
    _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), w, fl, i, wv, idx, c)
#elif defined(__ARM_FEATURE_SVE)
#define COMPRESS_LANES ((int64_t)svcntd())
#define COMPRESS_STEP(w, fl, i, wv, idx, c) COMPRESS_STEP_OF(64, w, fl, i, wv, idx, c)
#endif
#include "kernel_body.h"

/* ---- PCG64 in vector lanes ---- */
#if FI_VECTOR_PCG == 1
/* 128-bit arithmetic spelled in 64- and 32-bit pieces; the compiler vectorises across lanes. */
/* high 64 bits of a 64 x 64-bit product, from four 32 x 32-bit products */
static inline uint64_t mulhi64(uint64_t a, uint64_t b)
{
    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
    uint64_t p0 = al * bl, p1 = al * bh, p2 = ah * bl, p3 = ah * bh;
    uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffu) + (p2 & 0xffffffffu);
    return p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

void FI_NAME(fi_pcg_draws)(fi_pcg_lanes *restrict st, int64_t rounds, uint64_t *restrict out)
{
    uint64_t hi[FI_SIMD_LANES], lo[FI_SIMD_LANES];
    const uint64_t mh = st->mult_hi, ml = st->mult_lo, ph = st->plus_hi, pl = st->plus_lo;
    memcpy(hi, st->hi, sizeof hi);
    memcpy(lo, st->lo, sizeof lo);
    for (int64_t r = 0; r < rounds; r++) {
        uint64_t *o = out + r * FI_SIMD_LANES;
        for (int l = 0; l < FI_SIMD_LANES; l++) {
            uint64_t h = hi[l], x = lo[l];
            uint64_t v = h ^ x, rot = h >> 58;           /* XSL-RR output */
            o[l] = (v >> rot) | (v << ((64u - rot) & 63u));
            /* (h, x) * (mh, ml) + (ph, pl) mod 2^128 */
            uint64_t nl = x * ml;
            uint64_t nh = mulhi64(x, ml) + h * ml + x * mh;
            uint64_t sl = nl + pl;
            hi[l] = nh + ph + (sl < nl);
            lo[l] = sl;
        }
    }
    memcpy(st->hi, hi, sizeof hi);
    memcpy(st->lo, lo, sizeof lo);
}
#elif FI_VECTOR_PCG == 2
/* AVX-512 IFMA: the 128-bit state as three 52-bit limbs (52 + 52 + 24 bits), so that the
 * multiply is nine 52 x 52-bit multiply-adds instead of 32 x 32-bit products and their carries
 * (2.1x fewer cycles per draw). Integer arithmetic: the draws are the same as on every path. */
#define FI_M52 0xfffffffffffffULL
_Static_assert(FI_SIMD_LANES == 16, "two vectors of eight 64-bit lanes");
void FI_NAME(fi_pcg_draws)(fi_pcg_lanes *restrict st, int64_t rounds, uint64_t *restrict out)
{
    const __m512i m52 = _mm512_set1_epi64((long long)FI_M52), m24 = _mm512_set1_epi64(0xffffff);
    /* limbs of a 128-bit (hi, lo) pair: bits 0-51, 52-103, 104-127 */
#define LIMB0(h, l) ((l) & FI_M52)
#define LIMB1(h, l) (((l) >> 52 | (h) << 12) & FI_M52)
#define LIMB2(h, l) ((h) >> 40)
    const __m512i a0 = _mm512_set1_epi64((long long)LIMB0(st->mult_hi, st->mult_lo));
    const __m512i a1 = _mm512_set1_epi64((long long)LIMB1(st->mult_hi, st->mult_lo));
    const __m512i a2 = _mm512_set1_epi64((long long)LIMB2(st->mult_hi, st->mult_lo));
    const __m512i c0 = _mm512_set1_epi64((long long)LIMB0(st->plus_hi, st->plus_lo));
    const __m512i c1 = _mm512_set1_epi64((long long)LIMB1(st->plus_hi, st->plus_lo));
    const __m512i c2 = _mm512_set1_epi64((long long)LIMB2(st->plus_hi, st->plus_lo));
#undef LIMB0
#undef LIMB1
#undef LIMB2
    __m512i s0[2], s1[2], s2[2];
    for (int v = 0; v < 2; v++) {
        __m512i h = _mm512_loadu_si512(st->hi + 8 * v), l = _mm512_loadu_si512(st->lo + 8 * v);
        s0[v] = _mm512_and_si512(l, m52);
        s1[v] = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(l, 52), _mm512_slli_epi64(h, 12)), m52);
        s2[v] = _mm512_srli_epi64(h, 40);
    }
    for (int64_t r = 0; r < rounds; r++) {
        for (int v = 0; v < 2; v++) {
            const __m512i x0 = s0[v], x1 = s1[v], x2 = s2[v];
            /* XSL-RR: hi ^ lo (the limbs' pieces do not overlap, so or = xor), rotated right
             * by the top six bits, which are bits 18-23 of the third limb */
            __m512i o = _mm512_ternarylogic_epi64(_mm512_srli_epi64(x1, 12), _mm512_slli_epi64(x2, 40),
                                                  x0, 0x96);
            o = _mm512_xor_si512(o, _mm512_slli_epi64(x1, 52));
            o = _mm512_rorv_epi64(o, _mm512_srli_epi64(x2, 18));
            _mm512_storeu_si512(out + r * FI_SIMD_LANES + 8 * v, o);
            /* s * a + c mod 2^128, limb by limb: limb k collects the low halves of the
             * products whose limbs add up to k and the high halves of those adding up to k-1 */
            __m512i n0 = _mm512_madd52lo_epu64(c0, x0, a0);
            __m512i n1 = _mm512_madd52hi_epu64(c1, x0, a0);
            n1 = _mm512_madd52lo_epu64(n1, x0, a1);
            n1 = _mm512_madd52lo_epu64(n1, x1, a0);
            __m512i n2 = _mm512_madd52hi_epu64(c2, x0, a1);
            __m512i n2b = _mm512_madd52hi_epu64(_mm512_setzero_si512(), x1, a0);
            n2 = _mm512_madd52lo_epu64(n2, x1, a1);
            n2b = _mm512_madd52lo_epu64(n2b, x0, a2);
            n2b = _mm512_madd52lo_epu64(n2b, x2, a0);
            /* carries: each sum is below 2^56, so one pass of shifts settles them */
            n1 = _mm512_add_epi64(n1, _mm512_srli_epi64(n0, 52));
            n2 = _mm512_add_epi64(_mm512_add_epi64(n2, n2b), _mm512_srli_epi64(n1, 52));
            s0[v] = _mm512_and_si512(n0, m52);
            s1[v] = _mm512_and_si512(n1, m52);
            s2[v] = _mm512_and_si512(n2, m24);
        }
    }
    for (int v = 0; v < 2; v++) {
        _mm512_storeu_si512(st->lo + 8 * v, _mm512_or_si512(s0[v], _mm512_slli_epi64(s1[v], 52)));
        _mm512_storeu_si512(st->hi + 8 * v,
                            _mm512_or_si512(_mm512_srli_epi64(s1[v], 12), _mm512_slli_epi64(s2[v], 40)));
    }
}
#undef FI_M52
#elif FI_VECTOR_PCG == 3
/* SVE: 64-bit lanes with native multiply and multiply-high, for any vector length. Two vectors
 * of lanes go through the rounds together, their state in registers, so that one's multiplies
 * overlap the other's; each stores its own lanes of a row of FI_SIMD_LANES draws. */
static inline __attribute__((always_inline)) void
pcg_sve_round(svbool_t pg, svuint64_t *h, svuint64_t *x, uint64_t *out, uint64_t mh, uint64_t ml,
              uint64_t ph, uint64_t pl)
{
    svuint64_t v = sveor_u64_x(pg, *h, *x), rot = svlsr_n_u64_x(pg, *h, 58);   /* XSL-RR */
    svuint64_t back = svand_n_u64_x(pg, svsubr_n_u64_x(pg, rot, 64), 63);
    svst1_u64(pg, out, svorr_u64_x(pg, svlsr_u64_x(pg, v, rot), svlsl_u64_x(pg, v, back)));
    /* (h, x) * (mh, ml) + (ph, pl) mod 2^128 */
    svuint64_t nl = svmul_n_u64_x(pg, *x, ml);
    svuint64_t nh = svadd_u64_x(pg, svmulh_n_u64_x(pg, *x, ml),
                                svadd_u64_x(pg, svmul_n_u64_x(pg, *h, ml), svmul_n_u64_x(pg, *x, mh)));
    svuint64_t sl = svadd_n_u64_x(pg, nl, pl);
    *h = svadd_n_u64_m(svcmplt_u64(pg, sl, nl), svadd_n_u64_x(pg, nh, ph), 1);   /* + carry */
    *x = sl;
}

void FI_NAME(fi_pcg_draws)(fi_pcg_lanes *restrict st, int64_t rounds, uint64_t *restrict out)
{
    const uint64_t mh = st->mult_hi, ml = st->mult_lo, ph = st->plus_hi, pl = st->plus_lo;
    const int vl = (int)svcntd();
    for (int l = 0; l < FI_SIMD_LANES; l += 2 * vl) {
        const int l1 = l + vl;
        const svbool_t p0 = svwhilelt_b64_s32(l, FI_SIMD_LANES), p1 = svwhilelt_b64_s32(l1, FI_SIMD_LANES);
        svuint64_t h0 = svld1_u64(p0, st->hi + l), x0 = svld1_u64(p0, st->lo + l);
        svuint64_t h1 = svld1_u64(p1, st->hi + l1), x1 = svld1_u64(p1, st->lo + l1);
        for (int64_t r = 0; r < rounds; r++) {
            pcg_sve_round(p0, &h0, &x0, out + r * FI_SIMD_LANES + l, mh, ml, ph, pl);
            pcg_sve_round(p1, &h1, &x1, out + r * FI_SIMD_LANES + l1, mh, ml, ph, pl);
        }
        svst1_u64(p0, st->hi + l, h0);
        svst1_u64(p0, st->lo + l, x0);
        svst1_u64(p1, st->hi + l1, h1);
        svst1_u64(p1, st->lo + l1, x1);
    }
}
#endif

/* ---- copy-out with non-temporal stores ---- */
/* Large fills write far more than the caches hold: stores that bypass them save the read of
 * each destination line before it is overwritten. Lines only partly covered use plain stores. */
void FI_NAME(fi_stream_copy)(void *restrict dst, const void *restrict src, int64_t n)
{
    char *d = dst;
    const char *s = src;
#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
#if defined(__AVX512F__)
    enum { VB = 64 };
#elif defined(__AVX__)
    enum { VB = 32 };
#else
    enum { VB = 16 };
#endif
    int64_t head = (int64_t)((VB - ((uintptr_t)d & (VB - 1))) & (VB - 1));
    if (head > n) head = n;
    memcpy(d, s, (size_t)head);
    d += head; s += head; n -= head;
    for (; n >= VB; n -= VB, d += VB, s += VB) {
#if defined(__AVX512F__)
        _mm512_stream_si512((void *)d, _mm512_loadu_si512((const void *)s));
#elif defined(__AVX__)
        _mm256_stream_si256((__m256i *)d, _mm256_loadu_si256((const __m256i *)s));
#else
        _mm_stream_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
#endif
    }
#endif
    memcpy(d, s, (size_t)n);
}

#define FI_TABLE(pcg) {                                                                            \
    CAT_STR(FI_ISA), pcg,                                                                         \
    FI_NAME(fi_uniform_f), FI_NAME(fi_uniform_d), FI_NAME(fi_uniform_f16), FI_NAME(fi_uniform_bf16), \
    FI_NAME(fi_normal_f), FI_NAME(fi_normal_d), FI_NAME(fi_normal_f16), FI_NAME(fi_normal_bf16),     \
    FI_NAME(fi_stream_copy)}
#if FI_VECTOR_PCG == 3
/* With SVE the vector generator is a second table of the same kernels, which dispatch.c picks
 * on CPUs with vectors of 512 bits and more (eight and more lanes per multiply). On narrower
 * vectors (two or four lanes) the scalar generator, one MUL and UMULH pair per draw, is kept. */
const fi_kernel_table CAT(fi_kernels_, FI_ISA) = FI_TABLE(0);
const fi_kernel_table CAT(CAT(fi_kernels_, FI_ISA), _wide) = FI_TABLE(FI_NAME(fi_pcg_draws));
int64_t fi_sve_vector_bits(void) { return (int64_t)svcntb() * 8; }
#elif FI_VECTOR_PCG
const fi_kernel_table CAT(fi_kernels_, FI_ISA) = FI_TABLE(FI_NAME(fi_pcg_draws));
#else
const fi_kernel_table CAT(fi_kernels_, FI_ISA) = FI_TABLE(0);
#endif
