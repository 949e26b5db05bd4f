/* PCG64 (128-bit LCG state, XSL-RR 64-bit output), identical to numpy.random.PCG64.
 *
 * A stream is the sequence of 64-bit draws d_0, d_1, ... where d_k = xsl_rr(s_{k+1}) and
 * s_{k+1} = s_k * M + inc (mod 2^128), s_0 being numpy's stored state. Jumps use Brown's
 * O(log n) LCG skip-ahead, so any draw can be reached directly.
 *
 * 128-bit arithmetic goes through the fi_u128_* functions below: unsigned __int128 where the
 * compiler has it (GCC and Clang on 64-bit targets), else two 64-bit limbs with a 64 x 64 ->
 * 128-bit multiply (_umul128 / __umulh on MSVC and MinGW-w64, 32-bit pieces in plain C
 * elsewhere). FI_PORTABLE_U128 (CMake: FASTINIT_PORTABLE_U128=ON) forces the limbs, so that
 * they are built and tested on every machine. Both give the same bits.
 */
#ifndef FASTINIT_PCG64_H
#define FASTINIT_PCG64_H

#include <stdint.h>

#if defined(__SIZEOF_INT128__) && !defined(FI_PORTABLE_U128)
#define FI_U128_NATIVE 1
#else
#define FI_U128_NATIVE 0
#endif

#if FI_U128_NATIVE
typedef unsigned __int128 fi_u128;

static inline fi_u128 fi_u128_make(uint64_t hi, uint64_t lo) { return ((fi_u128)hi << 64) | lo; }
static inline uint64_t fi_u128_hi(fi_u128 x) { return (uint64_t)(x >> 64); }
static inline uint64_t fi_u128_lo(fi_u128 x) { return (uint64_t)x; }
static inline fi_u128 fi_u128_add(fi_u128 a, fi_u128 b) { return a + b; }
static inline fi_u128 fi_u128_mul(fi_u128 a, fi_u128 b) { return a * b; }
#else
typedef struct {
    uint64_t lo, hi;
} fi_u128;

#if (defined(_MSC_VER) || defined(__MINGW64__)) && (defined(_M_X64) || defined(__x86_64__))
#include <intrin.h>
#define FI_MUL64_WIDE(a, b, hi) _umul128((a), (b), (hi))
#elif defined(_MSC_VER) && defined(_M_ARM64)
#include <intrin.h>
#endif

static inline fi_u128 fi_u128_make(uint64_t hi, uint64_t lo)
{
    fi_u128 r;
    r.lo = lo;
    r.hi = hi;
    return r;
}
static inline uint64_t fi_u128_hi(fi_u128 x) { return x.hi; }
static inline uint64_t fi_u128_lo(fi_u128 x) { return x.lo; }

static inline fi_u128 fi_u128_add(fi_u128 a, fi_u128 b)
{
    fi_u128 r;
    r.lo = a.lo + b.lo;
    r.hi = a.hi + b.hi + (r.lo < a.lo);
    return r;
}

/* The full 128-bit product of two 64-bit numbers. */
static inline fi_u128 fi_mul64_wide(uint64_t a, uint64_t b)
{
    fi_u128 r;
#if defined(FI_MUL64_WIDE)
    r.lo = FI_MUL64_WIDE(a, b, &r.hi);
#elif defined(_MSC_VER) && defined(_M_ARM64)
    r.lo = a * b;
    r.hi = __umulh(a, b);
#else
    /* schoolbook on 32-bit halves; `mid` cannot overflow: it is at most 3 (2^32 - 1) */
    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
    uint64_t p0 = al * bl, p1 = al * bh, p2 = ah * bl, p3 = ah * bh;
    uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffu) + (p2 & 0xffffffffu);
    r.lo = (mid << 32) | (p0 & 0xffffffffu);
    r.hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
#endif
    return r;
}

/* a * b mod 2^128: the cross terms only reach the high limb. */
static inline fi_u128 fi_u128_mul(fi_u128 a, fi_u128 b)
{
    fi_u128 r = fi_mul64_wide(a.lo, b.lo);
    r.hi += a.hi * b.lo + a.lo * b.hi;
    return r;
}
#endif

static inline int fi_u128_eq(fi_u128 a, fi_u128 b)
{
    return fi_u128_hi(a) == fi_u128_hi(b) && fi_u128_lo(a) == fi_u128_lo(b);
}

/* a * m + p mod 2^128: one generator step when (m, p) = (FI_PCG_MULT, inc). */
static inline fi_u128 fi_u128_muladd(fi_u128 a, fi_u128 m, fi_u128 p)
{
    return fi_u128_add(fi_u128_mul(a, m), p);
}

#define FI_PCG_MULT_HI 0x2360ED051FC65DA4ULL
#define FI_PCG_MULT_LO 0x4385DF649FCCF645ULL
#define FI_PCG_MULT fi_u128_make(FI_PCG_MULT_HI, FI_PCG_MULT_LO)

static inline uint64_t fi_pcg_output(fi_u128 s)
{
    uint64_t hi = fi_u128_hi(s);
    uint64_t x = hi ^ fi_u128_lo(s);
    unsigned rot = (unsigned)(hi >> 58);
    return (x >> rot) | (x << ((64u - rot) & 63u));
}

/* The affine map s -> mult * s + plus that equals `delta` steps of the generator. */
void fi_pcg_jump_params(fi_u128 inc, uint64_t delta, fi_u128 *mult, fi_u128 *plus);

/* The state after `delta` steps from s (delta may be as large as 2^64 - 1). */
fi_u128 fi_pcg_advance(fi_u128 s, fi_u128 inc, uint64_t delta);

/* A position in one stream, able to seek to any draw and to produce runs of draws fast.
 * `sigma` is the state whose output is draw `pos` (i.e. s_{pos+1}). */
typedef struct {
    fi_u128 s0;        /* numpy's state before draw 0 */
    fi_u128 inc;
    fi_u128 sigma;
    uint64_t pos;
    fi_u128 mult_l, plus_l;   /* FI_PCG_LANES steps at once (leapfrog lanes) */
} fi_pcg_cursor;

#define FI_PCG_LANES 4   /* draws_impl spells the four lanes out */

void fi_pcg_cursor_init(fi_pcg_cursor *c, fi_u128 s0, fi_u128 inc);
void fi_pcg_cursor_seek(fi_pcg_cursor *c, uint64_t draw);
/* Writes draws pos, pos+1, ..., pos+n-1 and moves the cursor past them. */
void fi_pcg_cursor_draws(fi_pcg_cursor *c, uint64_t *out, int64_t n);
/* The same n draws as 2n 32-bit words in numpy's next_uint32 order (low half first). */
void fi_pcg_cursor_words(fi_pcg_cursor *c, uint32_t *out, int64_t n);

#endif
