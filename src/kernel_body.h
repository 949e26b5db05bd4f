/* One kernel per concept, instantiated for a compute type by kernels.c:
 *   T      compute type (float or double)
 *   W      word type (uint32_t or uint64_t)
 *   P      parameter struct (fi_params_f / fi_params_d)
 *   SFX    name suffix (_f or _d)
 *   WORD_TO_K(w), B, SIGNED_K   how a word becomes the B-bit integer k
 *   LOG    natural log for T
 *   COEF   coefficient tables (PPND7 for float, PPND16 for double; Wichura 1988, AS 241)
 *   HALF_OUTPUTS  (float only) also make the bfloat16 and float16 kernels, the float16 bits
 *          from F16_BITS(v) (fi_f16_bits, or the same rounding done by the hardware)
 * The including file defines these and FI_NAME(x) for the ISA-specific symbol.
 */

/* (x + 1/2) for a B-bit integer x (as SIGNED_K), rounded once to T: x is split into a part with
 * its low 8 bits clear, exact in T, and those bits, so that only the final sum rounds. */
#define HALF_UP(x) ((T)(SIGNED_K)((x) & ~(UWORD)0xff) + ((T)(SIGNED_K)((x) & (UWORD)0xff) + (T)0.5))

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
 * multiple of 16 (so that no scalar remainder loop runs). `plain` (a constant at each call)
 * marks the untruncated normal: pa = qb = 0, d = 1, log_off = 0 and no bounds, so that t is
 * min(u, 1 - u) and the clamps are identities. Then t >= 2^-(B+1), and where that is above
 * e^-25 (float: 2^-33 = 1.2e-10) sqrt(-log t) stays below 4.8, so the far coefficients
 * (r > 5) are never chosen. Leaving out what cannot matter changes no bit. */
#define NEAR_WHEN_PLAIN ((T)0.5 * SCALE_B > (T)1.4e-11)
static FI_ALWAYS_INLINE void
CAT(fi_normal_tail, SFX)(const W *restrict w, int64_t n, const P *restrict p, T *restrict out,
                         const int plain)
{
    const T mean = p->mean, sd = p->std, lo = p->lo, hi = p->hi;
    const T pa = p->pa, qb = p->qb, d = p->d, log_off = p->log_off;
    const int near = plain && NEAR_WHEN_PLAIN;
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
            T plo = plain ? u : pa + u * d;
            T pup = plain ? v : qb + v * d;
            int neg = plo < pup;
            T t = neg ? plo : pup;
            /* coefficients chosen per element so that both tail ranges share one evaluation */
            T rr = plain ? SQRT(-LOG(t)) : SQRT(-(LOG(t) + log_off));
            int far = near ? 0 : rr > (T)5;
            T x = rr - (far ? (T)5 : C_CONST2);
            T tn = TAIL_NUM(x, far);
            T td = TAIL_DEN(x, far);
            tn = neg ? -tn : tn;
            T val = mean + sd * (tn / td);
            if (!plain) {
                val = val < lo ? lo : val;
                val = val > hi ? hi : val;
            }
            out[j] = val;
        }
    }
}

/* The kernels, once per output type: T itself, and for float also bfloat16 and float16 bits
 * (rounded as the values are stored, so that no second pass over the chunk is needed). */
#define OUT T
#define OSFX SFX
#define STORE(v) (v)
#include "kernel_out.h"
#undef OUT
#undef OSFX
#undef STORE
#ifdef HALF_OUTPUTS
#define OUT uint16_t
#define STORE_ROUNDS 1
#define OSFX _bf16
#define STORE(v) fi_bf16_bits(v)
#include "kernel_out.h"
#undef OSFX
#undef STORE
#define OSFX _f16
#define STORE(v) F16_BITS(v)
#include "kernel_out.h"
#undef OUT
#undef STORE_ROUNDS
#undef OSFX
#undef STORE
#endif

#undef HALF_UP
#undef NEAR_WHEN_PLAIN
