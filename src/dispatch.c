/* Runtime choice of the kernel instance. Every instance gives identical bits, so the
 * choice only affects speed; FASTINIT_SIMD (read by the Python layer) can force one. */
#include <string.h>
#include "kernels.h"
#include "dispatch.h"
#include "fill.h"
#if defined(FI_HAVE_SVE_KERNELS) && defined(__linux__)
#include <sys/auxv.h>
#elif defined(FI_HAVE_SVE_KERNELS) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

static const fi_kernel_table *current = 0;

/* Slowest first within an architecture; fi_isa_best takes the last one the CPU supports, and
 * a CPU supports only its own architecture's paths. */
const char *const fi_isa_names[FI_ISA_COUNT] = {"base", "avx2", "avx512", "avx512ifma", "neon", "sve"};

#if defined(FI_HAVE_X86_KERNELS)
static int cpu_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}
#endif

#if defined(FI_HAVE_SVE_KERNELS)
/* SVE is optional in Armv8/Armv9: the kernel says whether the CPU has it and lets processes use it. */
static int cpu_sve(void)
{
#if defined(__linux__)
#ifndef HWCAP_SVE
#define HWCAP_SVE (1UL << 22)
#endif
    return (getauxval(AT_HWCAP) & HWCAP_SVE) != 0;
#elif defined(__APPLE__)
    int v = 0;
    size_t len = sizeof v;
    return sysctlbyname("hw.optional.arm.FEAT_SVE", &v, &len, 0, 0) == 0 && v != 0;
#else
    return 0;
#endif
}
#endif

/* Vector length from which the SVE path runs the generator in vectors (see kernels.c). */
#ifndef FI_SVE_WIDE_BITS
#define FI_SVE_WIDE_BITS 512
#endif

int fi_isa_supported(const char *name)
{
    if (strcmp(name, "base") == 0) return 1;
#if defined(FI_HAVE_X86_KERNELS)
    __builtin_cpu_init();
    if (strcmp(name, "avx2") == 0) return __builtin_cpu_supports("avx2") ? 1 : 0;
    if (strcmp(name, "avx512") == 0) return cpu_avx512();
    if (strcmp(name, "avx512ifma") == 0) return cpu_avx512() && __builtin_cpu_supports("avx512ifma");
#endif
#if defined(FI_HAVE_ARM_KERNELS)
    if (strcmp(name, "neon") == 0) return 1;         /* Armv8-A baseline */
#endif
#if defined(FI_HAVE_SVE_KERNELS)
    if (strcmp(name, "sve") == 0) return cpu_sve();
#endif
    return 0;
}

static const fi_kernel_table *lookup(const char *name)
{
    if (strcmp(name, "base") == 0) return &fi_kernels_base;
#if defined(FI_HAVE_X86_KERNELS)
    if (strcmp(name, "avx2") == 0) return &fi_kernels_avx2;
    if (strcmp(name, "avx512") == 0) return &fi_kernels_avx512;
    if (strcmp(name, "avx512ifma") == 0) return &fi_kernels_avx512ifma;
#endif
#if defined(FI_HAVE_ARM_KERNELS)
    if (strcmp(name, "neon") == 0) return &fi_kernels_neon;
#endif
#if defined(FI_HAVE_SVE_KERNELS)
    if (strcmp(name, "sve") == 0)    /* the vector length can only be read where SVE runs */
        return cpu_sve() && fi_sve_vector_bits() >= FI_SVE_WIDE_BITS ? &fi_kernels_sve_wide : &fi_kernels_sve;
#endif
    return 0;
}

const char *fi_isa_best(void)
{
    for (int k = FI_ISA_COUNT - 1; k > 0; k--)
        if (fi_isa_supported(fi_isa_names[k])) return fi_isa_names[k];
    return fi_isa_names[0];
}

int fi_isa_select(const char *name)
{
    if (strcmp(name, "auto") == 0) name = fi_isa_best();
    const fi_kernel_table *t = lookup(name);
    if (!t) {
        for (int k = 0; k < FI_ISA_COUNT; k++)
            if (strcmp(name, fi_isa_names[k]) == 0) return -2;   /* known, not built here */
        return -1;
    }
    if (!fi_isa_supported(name)) return -2;
    current = t;
    return 0;
}

const fi_kernel_table *fi_kernels(void)
{
    if (!current) fi_isa_select("auto");
    return current;
}

const char *fi_isa_current(void) { return fi_kernels()->name; }
