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

/* (truncated) normal: z = Phi^-1(Phi(l) + u (Phi(h) - Phi(l))), v = mean + std z, clamped.
 * With pa = Phi(l), qb = 1 - Phi(h), d = Phi(h) - Phi(l) the lower- and upper-tail
 * probabilities of z are pa + u d and qb + (1-u) d; the smaller one feeds the tail branch
 * (sqrt(-log t)), q = cq + (u - 1/2) d = p - 1/2 feeds the central branch. log_off rescales
 * t for intervals far in a tail (t is stored multiplied by exp(-log_off)). */
void FI_NAME(CAT(fi_normal, SFX))(const W *restrict w, int64_t n, const P *restrict p, T *restrict out)
{
    const T mean = p->mean, sd = p->std, lo = p->lo, hi = p->hi;
    const T pa = p->pa, qb = p->qb, d = p->d, cq = p->cq, cmax = p->cmax, log_off = p->log_off;
    for (int64_t i = 0; i < n; i++) {
        UWORD k = WORD_TO_K(w[i]);
        UWORD kc = K_MASK - k;                       /* the integer of 1 - u */
        int upper = k > K_HALF_M1;                    /* u > 1/2 */
        UWORD m = upper ? kc : k;                     /* < 2^(B-1) */
        T small = HALF_UP(m) * SCALE_B;               /* min(u, 1-u) */
        T big = (T)1 - small;
        T u = upper ? big : small;
        T v = upper ? small : big;
        T qu = HALF_UP(k - K_HALF) * SCALE_B;         /* u - 1/2 */

        T q = cq + qu * d;
        T plo = pa + u * d;
        T pup = qb + v * d;
        int neg = plo < pup;
        T t = neg ? plo : pup;

        /* central branch: z = q A(r) / B(r) */
        T r = C_CONST1 - q * q;
        T za = q * HORNER_A(r);
        T zb = HORNER_B(r);

        /* tail branches: coefficients chosen per element so both share one evaluation */
        T rr = SQRT(-(LOG(t) + log_off));
        int far = rr > (T)5;
        T x = rr - (far ? (T)5 : C_CONST2);
        T tn = TAIL_NUM(x, far);
        T td = TAIL_DEN(x, far);
        tn = neg ? -tn : tn;

        /* one division for whichever branch applies */
        T aq = q < (T)0 ? -q : q;
        int central = aq <= cmax;
        T z = (central ? za : tn) / (central ? zb : td);
        T val = mean + sd * z;
        val = val < lo ? lo : val;
        val = val > hi ? hi : val;
        out[i] = val;
    }
}

#undef HALF_UP
