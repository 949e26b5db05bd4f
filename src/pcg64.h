/* PCG64 (128-bit LCG state, XSL-RR 64-bit output), identical to numpy.random.PCG64.
 *
 * A stream is the sequence of 64-bit draws d_0, d_1, ... where d_k = xsl_rr(s_{k+1}) and
 * s_{k+1} = s_k * M + inc (mod 2^128), s_0 being numpy's stored state. Jumps use Brown's
 * O(log n) LCG skip-ahead, so any draw can be reached directly. Requires unsigned __int128
 * (GCC and Clang on 64-bit targets).
 */
#ifndef FASTINIT_PCG64_H
#define FASTINIT_PCG64_H

#include <stdint.h>

typedef unsigned __int128 fi_u128;

#define FI_PCG_MULT (((fi_u128)0x2360ED051FC65DA4ULL << 64) | (fi_u128)0x4385DF649FCCF645ULL)

static inline fi_u128 fi_u128_make(uint64_t hi, uint64_t lo) { return ((fi_u128)hi << 64) | lo; }

static inline uint64_t fi_pcg_output(fi_u128 s)
{
    uint64_t x = (uint64_t)(s >> 64) ^ (uint64_t)s;
    unsigned rot = (unsigned)(s >> 122);
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
