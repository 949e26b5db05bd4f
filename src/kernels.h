/* Per-ISA element kernels. kernels.c is compiled once per instruction set (baseline, AVX2,
 * AVX-512) with the same source and the same strict floating-point flags; dispatch.c picks one
 * at run time. The instances differ only in vector width, never in results. */
#ifndef FASTINIT_KERNELS_H
#define FASTINIT_KERNELS_H

#include <stdint.h>
#include "transforms.h"

typedef struct {
    const char *name;
    void (*uniform_f)(const uint32_t *, int64_t, const fi_params_f *, float *);
    void (*uniform_d)(const uint64_t *, int64_t, const fi_params_d *, double *);
    void (*normal_f)(const uint32_t *, int64_t, const fi_params_f *, float *);
    void (*normal_d)(const uint64_t *, int64_t, const fi_params_d *, double *);
    void (*to_f16)(const float *, int64_t, uint16_t *);
    void (*to_bf16)(const float *, int64_t, uint16_t *);
} fi_kernel_table;

#define FI_DECLARE_TABLE(isa) extern const fi_kernel_table fi_kernels_##isa;
FI_DECLARE_TABLE(base)
#if defined(FI_HAVE_X86_KERNELS)
FI_DECLARE_TABLE(avx2)
FI_DECLARE_TABLE(avx512)
#endif

#endif
