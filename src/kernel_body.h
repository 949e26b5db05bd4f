/* One kernel per concept, instantiated for a compute type by kernels.c:
 *   T      compute type (float or double)
 *   W      word type (uint32_t or uint64_t)
 *   P      parameter struct (fi_params_f / fi_params_d)
 *   SFX    name suffix (_f or _d)
 *   WORD_TO_K(w), B, SIGNED_K   how a word becomes the B-bit integer k
 *   LOG    natural log for T
 *   COEF   coefficient tables (PPND7 for float, PPND16 for double; Wichura 1988, AS 241)
 * The including file defines these and FI_NAME(x) for the ISA-specific symbol.
 */

/* (x + 1/2) for a B-bit integer x (as SIGNED_K), rounded once to T: x is split into a part with
 * its low 8 bits clear, exact in T, and those bits, so that only the final sum rounds. */
#define HALF_UP(x) ((T)(SIGNED_K)((x) & ~(UWORD)0xff) + ((T)(SIGNED_K)((x) & (UWORD)0xff) + (T)0.5))

/* uniform: v = (low + range * u) * scale, with numpy's conversions
 *   float:  u = (w >> 8) 2^-24          double: u = (r >> 11) 2^-53
 * then clamped into [lo, hi] (the dtype's representable bounds of [low, high)). */
void FI_NAME(CAT(fi_uniform, SFX))(const W *restrict w, int64_t n, const P *restrict p, T *restrict out)
{
    const T low = p->low, range = p->range, scale = p->scale, lo = p->lo, hi = p->hi;
    for (int64_t i = 0; i < n; i++) {
        T u = (T)(SIGNED_U)(w[i] >> UNIFORM_SHIFT) * UNIFORM_SCALE;
        T v = (low + range * u) * scale;      /* scale is 1 (exact) or 2 (exact halving undone) */
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        out[i] = v;
    }
}

/* The words and indices of the elements of a block whose flag is set (nonzero). */
static inline int64_t CAT(fi_tail_list, SFX)(const W *restrict w, const SIGNED_K *restrict fl, int64_t m,
                                             W *restrict wv, SIGNED_K *restrict idx)
{
    int64_t c = 0, i = 0;
#ifdef COMPRESS_STEP
    for (; i + COMPRESS_LANES <= m; i += COMPRESS_LANES) COMPRESS_STEP(w, fl, i, wv, idx, c);
#endif
    for (; i < m; i++) {          /* branch-free: every element is written, only flagged ones kept */
        wv[c] = w[i];
        idx[c] = (SIGNED_K)i;
        c += fl[i] != 0;
    }
    return c;
}

/* Tail branch, z = +-R(sqrt(-log t)) with t the smaller tail probability, for n words, n a
 * multiple of 16 (so that no scalar remainder loop runs). */
static inline void CAT(fi_normal_tail, SFX)(const W *restrict w, int64_t n, const P *restrict p,
                                            T *restrict out)
{
    const T mean = p->mean, sd = p->std, lo = p->lo, hi = p->hi;
    const T pa = p->pa, qb = p->qb, d = p->d, log_off = p->log_off;
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
        for (int64_t j = j0; j < j0 + 16; j++) {
            UWORD k = WORD_TO_K(w[j]);
            UWORD kc = K_MASK - k;                       /* the integer of 1 - u */
            int upper = k > K_HALF_M1;                    /* u > 1/2 */
            UWORD mm = upper ? kc : k;                    /* < 2^(B-1) */
            T small = HALF_UP(mm) * SCALE_B;              /* min(u, 1-u) */
            T big = (T)1 - small;
            T u = upper ? big : small;
            T v = upper ? small : big;
            T plo = pa + u * d;
            T pup = qb + v * d;
            int neg = plo < pup;
            T t = neg ? plo : pup;
            /* coefficients chosen per element so that both tail ranges share one evaluation */
            T rr = SQRT(-(LOG(t) + log_off));
            int far = rr > (T)5;
            T x = rr - (far ? (T)5 : C_CONST2);
            T tn = TAIL_NUM(x, far);
            T td = TAIL_DEN(x, far);
            tn = neg ? -tn : tn;
            T val = mean + sd * (tn / td);
            val = val < lo ? lo : val;
            val = val > hi ? hi : val;
            out[j] = val;
        }
    }
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
#define NORMAL_BLOCK 1024
void FI_NAME(CAT(fi_normal, SFX))(const W *restrict w, int64_t n, const P *restrict p, T *restrict out)
{
    const T mean = p->mean, sd = p->std, lo = p->lo, hi = p->hi;
    const T d = p->d, cq = p->cq, cmax = p->cmax;
    /* tail lists, with room for a vector's overrun (COMPRESS_STEP) and padding to 16 */
    W wv[NORMAL_BLOCK + 16];
    SIGNED_K fl[NORMAL_BLOCK], idx[NORMAL_BLOCK + 16];
    T tv[NORMAL_BLOCK + 16];

    /* An interval that lies in a tail never reaches the central branch: q is at least
     * cq - d/2 (or at most cq + d/2) in the same rounded arithmetic, so skip the first pass. */
    const T half = (T)0.5 * d;
    if (cq - half > cmax || cq + half < -cmax) {
        const int64_t n16 = n & ~(int64_t)15;
        CAT(fi_normal_tail, SFX)(w, n16, p, out);
        if (n16 < n) {
            const int64_t r = n - n16;
            for (int64_t j = 0; j < 16; j++) wv[j] = j < r ? w[n16 + j] : 0;
            CAT(fi_normal_tail, SFX)(wv, 16, p, tv);
            for (int64_t j = 0; j < r; j++) out[n16 + j] = tv[j];
        }
        return;
    }

    for (int64_t b = 0; b < n; b += NORMAL_BLOCK) {
        const int64_t m = n - b < NORMAL_BLOCK ? n - b : NORMAL_BLOCK;
        const W *restrict wb = w + b;
        T *restrict ob = out + b;
        for (int64_t i = 0; i < m; i++) {
            /* central branch: z = q A(r) / B(r) */
            UWORD k = WORD_TO_K(wb[i]);
            T qu = HALF_UP(k - K_HALF) * SCALE_B;         /* u - 1/2 */
            T q = cq + qu * d;
            T r = C_CONST1 - q * q;
            T z = (q * HORNER_A(r)) / HORNER_B(r);
            T val = mean + sd * z;
            val = val < lo ? lo : val;
            val = val > hi ? hi : val;
            ob[i] = val;
            T aq = q < (T)0 ? -q : q;
            fl[i] = aq <= cmax ? 0 : -1;
        }
        const int64_t c = CAT(fi_tail_list, SFX)(wb, fl, m, wv, idx);
        const int64_t c16 = (c + 15) & ~(int64_t)15;
        for (int64_t j = c; j < c16; j++) wv[j] = 0;     /* padding: computed, then dropped */
        CAT(fi_normal_tail, SFX)(wv, c16, p, tv);
        for (int64_t j = 0; j < c; j++) ob[idx[j]] = tv[j];
    }
}
#undef NORMAL_BLOCK

#undef HALF_UP
