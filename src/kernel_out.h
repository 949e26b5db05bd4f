/* The element kernels for one output type, included by kernel_body.h with
 *   OUT       the stored type (T, or uint16_t holding bfloat16/float16 bits)
 *   OSFX      name suffix (_f, _d, _bf16, _f16)
 *   STORE(v)  T value -> OUT
 *   STORE_ROUNDS  defined when STORE is more than the identity
 * on top of kernel_body.h's parameters and helpers. */

#ifndef NORMAL_BLOCK
#define NORMAL_BLOCK 1024
#endif

/* uniform: v = (low + range * u) * scale, with numpy's conversions
 *   float:  u = (w >> 8) 2^-24          double: u = (r >> 11) 2^-53
 * then clamped into [lo, hi] (the dtype's representable bounds of [low, high)). */
static FI_ALWAYS_INLINE void
CAT(fi_uniform_run, OSFX)(const W *restrict w, int64_t n, const P *restrict p, OUT *restrict out,
                          const int unit)
{
    const T low = p->low, range = p->range, scale = p->scale, lo = p->lo, hi = p->hi;
    for (int64_t i = 0; i < n; i++) {
        T u = (T)(SIGNED_U)(w[i] >> UNIFORM_SHIFT) * UNIFORM_SCALE;
        T v = low + range * u;
        if (!unit) v = v * scale;             /* scale is 1 (exact) or 2 (exact halving undone) */
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        out[i] = STORE(v);
    }
}

void FI_NAME(CAT(fi_uniform, OSFX))(const W *restrict w, int64_t n, const P *restrict p, OUT *restrict out)
{
    /* a constant `unit` per call: multiplying by a scale of 1 changes no bit, so leave it out */
    if (p->scale == (T)1) CAT(fi_uniform_run, OSFX)(w, n, p, out, 1);
    else CAT(fi_uniform_run, OSFX)(w, n, p, out, 0);
}

/* (truncated) normal: z = Phi^-1(Phi(l) + u (Phi(h) - Phi(l))), v = mean + std z, clamped.
 * With pa = Phi(l), qb = 1 - Phi(h), d = Phi(h) - Phi(l) the lower- and upper-tail
 * probabilities of z are pa + u d and qb + (1-u) d; the smaller one feeds the tail branch
 * (sqrt(-log t)), q = cq + (u - 1/2) d = p - 1/2 feeds the central branch (|q| <= cmax).
 * log_off rescales t for intervals far in a tail (t is stored multiplied by exp(-log_off)).
 *
 * The central branch takes about 85% of a standard normal's draws, so a block is done in two
 * passes: every element through the central branch, then only the listed tail elements through
 * log, sqrt and the tail rational (2x faster than computing both for every element). Each
 * element sees the same operations either way, so the values do not depend on the split. */
/* The central pass over m <= NORMAL_BLOCK words: every value through z = q A(r) / B(r), and
 * the flags of the elements that belong to the tail branch. `plain` (a constant at each call)
 * marks the untruncated normal (d = 1, cq = 0, no bounds; see fi_normal_tail), where
 * q = u - 1/2 and the clamps are identities; leaving those operations out changes no bit. */
static FI_ALWAYS_INLINE void
CAT(fi_normal_central, OSFX)(const W *restrict wb, int64_t m, const P *restrict p, OUT *restrict ob,
                             SIGNED_K *restrict fl, const int plain)
{
    const T mean = p->mean, sd = p->std, lo = p->lo, hi = p->hi;
    const T d = p->d, cq = p->cq, cmax = p->cmax;
    for (int64_t i = 0; i < m; i++) {
        UWORD k = WORD_TO_K(wb[i]);
        T qu = HALF_UP(k - K_HALF) * SCALE_B;             /* u - 1/2 */
        T q = plain ? qu : cq + qu * d;
        T r = C_CONST1 - q * q;
        T z = (q * HORNER_A(r)) / HORNER_B(r);
        T val = mean + sd * z;
        if (!plain) {
            val = val < lo ? lo : val;
            val = val > hi ? hi : val;
        }
        ob[i] = STORE(val);
        T aq = q < (T)0 ? -q : q;
        fl[i] = aq <= cmax ? 0 : -1;
    }
}

void FI_NAME(CAT(fi_normal, OSFX))(const W *restrict w, int64_t n, const P *restrict p, OUT *restrict out)
{
    const T d = p->d, cq = p->cq, cmax = p->cmax;
    const int plain = d == (T)1 && cq == (T)0 && p->pa == (T)0 && p->qb == (T)0 && p->log_off == (T)0 &&
                      p->lo == -(T)INFINITY && p->hi == (T)INFINITY;
    /* tail lists, with room for a vector's overrun (COMPRESS_STEP) and padding to 16 */
    W wv[NORMAL_BLOCK + 16];
    SIGNED_K fl[NORMAL_BLOCK], idx[NORMAL_BLOCK + 16];
    T tv[NORMAL_BLOCK + 16];
#ifdef STORE_ROUNDS
    OUT tr[NORMAL_BLOCK + 16];
#endif

    /* An interval that lies in a tail never reaches the central branch: q is at least
     * cq - d/2 (or at most cq + d/2) in the same rounded arithmetic, so skip the first pass. */
    const T half = (T)0.5 * d;
    if (cq - half > cmax || cq + half < -cmax) {
        for (int64_t b = 0; b < n; b += NORMAL_BLOCK) {
            const int64_t m = n - b < NORMAL_BLOCK ? n - b : NORMAL_BLOCK;
            const int64_t m16 = m & ~(int64_t)15;
            CAT(fi_normal_tail, SFX)(w + b, m16, p, tv, 0);
            if (m16 < m) {
                for (int64_t j = 0; j < 16; j++) wv[j] = j < m - m16 ? w[b + m16 + j] : 0;
                CAT(fi_normal_tail, SFX)(wv, 16, p, tv + m16, 0);
            }
            for (int64_t j = 0; j < m; j++) out[b + j] = STORE(tv[j]);
        }
        return;
    }

    for (int64_t b = 0; b < n; b += NORMAL_BLOCK) {
        const int64_t m = n - b < NORMAL_BLOCK ? n - b : NORMAL_BLOCK;
        const W *restrict wb = w + b;
        OUT *restrict ob = out + b;
        if (plain) CAT(fi_normal_central, OSFX)(wb, m, p, ob, fl, 1);
        else CAT(fi_normal_central, OSFX)(wb, m, p, ob, fl, 0);
        const int64_t c = CAT(fi_tail_list, SFX)(wb, fl, m, wv, idx);
        const int64_t c16 = (c + 15) & ~(int64_t)15;
        for (int64_t j = c; j < c16; j++) wv[j] = 0;     /* padding: computed, then dropped */
        if (plain) CAT(fi_normal_tail, SFX)(wv, c16, p, tv, 1);
        else CAT(fi_normal_tail, SFX)(wv, c16, p, tv, 0);
#ifdef STORE_ROUNDS
        /* round the list in vectors first: the scatter below goes element by element */
        for (int64_t j = 0; j < c16; j++) tr[j] = STORE(tv[j]);
        for (int64_t j = 0; j < c; j++) ob[idx[j]] = tr[j];
#else
        for (int64_t j = 0; j < c; j++) ob[idx[j]] = tv[j];
#endif
    }
}
