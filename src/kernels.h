/* Per-ISA element kernels. kernels.c is compiled once per instruction set (baseline, AVX2,
 * AVX-512, NEON, SVE) with the same source and the same strict floating-point flags; dispatch.c picks one
 * at run time. The instances differ only in vector width, never in results. */
#ifndef FASTINIT_KERNELS_H
#define FASTINIT_KERNELS_H

#include <stdint.h>
#include "transforms.h"

/* PCG64 states of FI_SIMD_LANES interleaved lanes, as 64-bit halves (structure of arrays), and
 * the affine map (mult, plus) that moves a lane FI_SIMD_LANES steps ahead. */
#define FI_SIMD_LANES 16
typedef struct {
    uint64_t hi[FI_SIMD_LANES], lo[FI_SIMD_LANES];
    uint64_t mult_hi, mult_lo, plus_hi, plus_lo;
} fi_pcg_lanes;

typedef struct {
    const char *name;
    /* rounds x FI_SIMD_LANES draws in stream order; NULL where scalar 128-bit code is faster */
    void (*pcg_draws)(fi_pcg_lanes *, int64_t rounds, uint64_t *);
    /* words -> values; the 16-bit outputs are computed in float and rounded as stored */
    void (*uniform_f)(const uint32_t *, int64_t, const fi_params_f *, float *);
    void (*uniform_d)(const uint64_t *, int64_t, const fi_params_d *, double *);
    void (*uniform_f16)(const uint32_t *, int64_t, const fi_params_f *, uint16_t *);
    void (*uniform_bf16)(const uint32_t *, int64_t, const fi_params_f *, uint16_t *);
    void (*normal_f)(const uint32_t *, int64_t, const fi_params_f *, float *);
    void (*normal_d)(const uint64_t *, int64_t, const fi_params_d *, double *);
    void (*normal_f16)(const uint32_t *, int64_t, const fi_params_f *, uint16_t *);
    void (*normal_bf16)(const uint32_t *, int64_t, const fi_params_f *, uint16_t *);
    void (*stream_copy)(void *, const void *, int64_t);
} fi_kernel_table;

#define FI_DECLARE_TABLE(isa) extern const fi_kernel_table fi_kernels_##isa;
FI_DECLARE_TABLE(base)
#if defined(FI_HAVE_X86_KERNELS)
FI_DECLARE_TABLE(avx2)
FI_DECLARE_TABLE(avx512)
FI_DECLARE_TABLE(avx512ifma)
#endif
#if defined(FI_HAVE_ARM_KERNELS)
FI_DECLARE_TABLE(neon)
#endif
#if defined(FI_HAVE_SVE_KERNELS)
FI_DECLARE_TABLE(sve)
FI_DECLARE_TABLE(sve_wide)      /* the same with the vector generator */
int64_t fi_sve_vector_bits(void);   /* call only where the CPU has SVE */
#endif

#endif
