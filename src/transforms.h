/* Element transforms: random word -> uniform / normal / truncated normal value.
 *
 * Everything here is branch-free straight-line IEEE arithmetic (no libm, no FMA, no
 * reassociation: the build uses -ffp-contract=off and no fast-math), so that scalar code and
 * every vectorised instance compiled from the same source give identical bits.
 *
 * Two compute types:
 *   float  for 16- and 32-bit outputs, fed by 32-bit words  (B = 32),
 *   double for 64-bit outputs,          fed by r >> 12 of a 64-bit draw (B = 52).
 * With k the B-bit integer, u = (k + 1/2) 2^-B lies strictly inside (0, 1), and both u and
 * 1 - u are formed from k directly so that neither tail loses precision.
 */
#ifndef FASTINIT_TRANSFORMS_H
#define FASTINIT_TRANSFORMS_H

#include <stdint.h>
#include <string.h>
#include "compiler.h"

/* Parameters of a call, already converted to the compute type by the driver. */
typedef struct {
    float low, range, scale, lo, hi;                   /* uniform; lo/hi: clamp bounds */
    float mean, std, pa, qb, d, cq, cmax, log_off;     /* (truncated) normal */
} fi_params_f;

typedef struct {
    double low, range, scale, lo, hi;
    double mean, std, pa, qb, d, cq, cmax, log_off;
} fi_params_d;

static inline uint32_t fi_bits_f(float x) { uint32_t b; memcpy(&b, &x, 4); return b; }
static inline float fi_from_bits_f(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }
static inline uint64_t fi_bits_d(double x) { uint64_t b; memcpy(&b, &x, 8); return b; }
static inline double fi_from_bits_d(uint64_t b) { double x; memcpy(&x, &b, 8); return x; }

/* float32 -> float16 / bfloat16 bits, round to nearest even. Inputs are finite or +-inf
 * (never NaN: the samplers cannot produce one). */
static inline uint16_t fi_f16_bits(float x)
{
    uint32_t b = fi_bits_f(x);
    uint32_t sign = (b >> 16) & 0x8000u;
    uint32_t a = b & 0x7fffffffu;
    /* normal half: rebias the exponent, round the 13 dropped bits to nearest even */
    uint32_t nr = (a + 0xc8000fffu + ((a >> 13) & 1u)) >> 13;   /* a - (112 << 23) + 0xfff + odd */
    /* subnormal half: adding 0.5 (2^-1) aligns the result's lsb with 2^-24; the FPU rounds */
    float sf = fi_from_bits_f(a) + 0.5f;
    uint32_t sr = fi_bits_f(sf) - 0x3f000000u;
    uint32_t h = a < 0x38800000u ? sr : nr;        /* below 2^-14: subnormal */
    h = a >= 0x477ff000u ? 0x7c00u : h;            /* rounds to >= 65520: inf */
    return (uint16_t)(h | sign);
}

static inline uint16_t fi_bf16_bits(float x)
{
    uint32_t b = fi_bits_f(x);
    return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

/* Natural log of a positive normal number. x = 2^k m with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172; the odd series of atanh is truncated where
 * its remainder drops below half an ulp (4 terms in float, 9 in double). */
static inline float fi_log_f(float x)
{
    const int32_t sq = 0x3f3504f3;   /* bits of sqrt(1/2) rounded */
    int32_t b = (int32_t)fi_bits_f(x);
    int32_t k = (b - sq) >> 23;      /* arithmetic shift: floor */
    float m = fi_from_bits_f((uint32_t)b - ((uint32_t)k << 23));
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float p = ((2.0f / 9.0f) * z + (2.0f / 7.0f)) * z + (2.0f / 5.0f);
    p = p * z + (2.0f / 3.0f);
    float ls = s * 2.0f + s * (z * p);
    float kf = (float)k;
    return kf * 0.693145751953125f + (ls + kf * 1.4286068202862268e-06f);
}

static inline double fi_log_d(double x)
{
    const int64_t sq = 0x3fe6a09e667f3bcdLL;
    int64_t b = (int64_t)fi_bits_d(x);
    int64_t k = (b - sq) >> 52;
    double m = fi_from_bits_d((uint64_t)b - ((uint64_t)k << 52));
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double p = (2.0 / 19.0);
    p = p * z + (2.0 / 17.0);
    p = p * z + (2.0 / 15.0);
    p = p * z + (2.0 / 13.0);
    p = p * z + (2.0 / 11.0);
    p = p * z + (2.0 / 9.0);
    p = p * z + (2.0 / 7.0);
    p = p * z + (2.0 / 5.0);
    p = p * z + (2.0 / 3.0);
    double ls = s * 2.0 + s * (z * p);
    double kd = (double)k;
    return kd * 6.93147180369123816490e-01 + (ls + kd * 1.90821492927058770002e-10);
}

#endif
