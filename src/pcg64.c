#include "pcg64.h"

void fi_pcg_jump_params(fi_u128 inc, uint64_t delta, fi_u128 *mult, fi_u128 *plus)
{
    /* Square-and-multiply on the affine map (Brown 1994, "Random number generation with
     * arbitrary strides"): after the loop, acc_mult * s + acc_plus = delta steps from s. */
    fi_u128 acc_mult = fi_u128_make(0, 1), acc_plus = fi_u128_make(0, 0);
    fi_u128 cur_mult = FI_PCG_MULT, cur_plus = inc;
    const fi_u128 one = fi_u128_make(0, 1);
    while (delta) {
        if (delta & 1u) {
            acc_mult = fi_u128_mul(acc_mult, cur_mult);
            acc_plus = fi_u128_muladd(acc_plus, cur_mult, cur_plus);
        }
        cur_plus = fi_u128_mul(fi_u128_add(cur_mult, one), cur_plus);
        cur_mult = fi_u128_mul(cur_mult, cur_mult);
        delta >>= 1;
    }
    *mult = acc_mult;
    *plus = acc_plus;
}

fi_u128 fi_pcg_advance(fi_u128 s, fi_u128 inc, uint64_t delta)
{
    fi_u128 m, p;
    fi_pcg_jump_params(inc, delta, &m, &p);
    return fi_u128_muladd(m, s, p);
}

void fi_pcg_cursor_init(fi_pcg_cursor *c, fi_u128 s0, fi_u128 inc)
{
    c->s0 = s0;
    c->inc = inc;
    c->sigma = fi_u128_muladd(s0, FI_PCG_MULT, inc);
    c->pos = 0;
    fi_pcg_jump_params(inc, FI_PCG_LANES, &c->mult_l, &c->plus_l);
}

void fi_pcg_cursor_seek(fi_pcg_cursor *c, uint64_t draw)
{
    if (draw == c->pos) return;
    if (draw > c->pos) {
        c->sigma = fi_pcg_advance(c->sigma, c->inc, draw - c->pos);
    } else {
        c->sigma = fi_pcg_advance(fi_u128_muladd(c->s0, FI_PCG_MULT, c->inc), c->inc, draw);
    }
    c->pos = draw;
}

/* Store one draw: as a 64-bit value, or as the two 32-bit words numpy's next_uint32 hands out
 * (low half first). */
static inline void store_draw(void *out, int64_t i, uint64_t x, int as_words)
{
    if (!as_words) {
        ((uint64_t *)out)[i] = x;
    } else {
        uint32_t *w = (uint32_t *)out + 2 * i;
        w[0] = (uint32_t)x;
        w[1] = (uint32_t)(x >> 32);
    }
}

static inline void draws_impl(fi_pcg_cursor *c, void *out, int64_t n, int as_words)
{
    fi_u128 x = c->sigma;
    int64_t i = 0;
    if (n >= 4 * FI_PCG_LANES) {
        /* Independent lanes hide the latency of the 128-bit multiply: lane l produces
         * draws pos+l, pos+l+L, ... so the output is still in stream order. */
        fi_u128 l0 = x, l1, l2, l3;
        const fi_u128 m = c->mult_l, p = c->plus_l;
        l1 = fi_u128_muladd(l0, FI_PCG_MULT, c->inc);
        l2 = fi_u128_muladd(l1, FI_PCG_MULT, c->inc);
        l3 = fi_u128_muladd(l2, FI_PCG_MULT, c->inc);
        for (; i + FI_PCG_LANES <= n; i += FI_PCG_LANES) {
            store_draw(out, i + 0, fi_pcg_output(l0), as_words);
            store_draw(out, i + 1, fi_pcg_output(l1), as_words);
            store_draw(out, i + 2, fi_pcg_output(l2), as_words);
            store_draw(out, i + 3, fi_pcg_output(l3), as_words);
            l0 = fi_u128_muladd(l0, m, p);
            l1 = fi_u128_muladd(l1, m, p);
            l2 = fi_u128_muladd(l2, m, p);
            l3 = fi_u128_muladd(l3, m, p);
        }
        x = l0;
    }
    for (; i < n; i++) {
        store_draw(out, i, fi_pcg_output(x), as_words);
        x = fi_u128_muladd(x, FI_PCG_MULT, c->inc);
    }
    c->sigma = x;
    c->pos += (uint64_t)n;
}

void fi_pcg_cursor_draws(fi_pcg_cursor *c, uint64_t *out, int64_t n) { draws_impl(c, out, n, 0); }

void fi_pcg_cursor_words(fi_pcg_cursor *c, uint32_t *out, int64_t n) { draws_impl(c, out, n, 1); }
