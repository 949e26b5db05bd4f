/* Runtime choice of the kernel instance. Every instance gives identical bits, so the
 * choice only affects speed; FASTINIT_SIMD (read by the Python layer) can force one. */
#include <stdint.h>
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
/* x86 features from cpuid, kept only where the OS saves the registers they use (XCR0), as
 * GCC's __builtin_cpu_supports does; written with cpuid/xgetbv so that MSVC builds it too. */
#if defined(_MSC_VER) || defined(__MINGW32__)
#include <intrin.h>
static void cpuid(int leaf, int sub, uint32_t r[4])
{
    int x[4];
    __cpuidex(x, leaf, sub);
    for (int k = 0; k < 4; k++) r[k] = (uint32_t)x[k];
}
#else
#include <cpuid.h>
static void cpuid(int leaf, int sub, uint32_t r[4])
{
    __cpuid_count((unsigned)leaf, (unsigned)sub, r[0], r[1], r[2], r[3]);
}
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#include <immintrin.h>
static uint64_t xcr0(void) { return _xgetbv(0); }
#else
static uint64_t xcr0(void)
{
    uint32_t a, d;
    __asm__ __volatile__("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
    return ((uint64_t)d << 32) | a;
}
#endif

enum { X86_AVX2 = 1, X86_AVX512 = 2, X86_AVX512IFMA = 4 };

static int x86_features(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    if (r[0] < 7) return 0;
    cpuid(1, 0, r);
    const uint32_t osxsave_avx = (1u << 27) | (1u << 28);
    if ((r[2] & osxsave_avx) != osxsave_avx) return 0;
    const uint64_t x = xcr0();
    if ((x & 0x6) != 0x6) return 0;                       /* SSE and AVX state */
    cpuid(7, 0, r);
    int f = (r[1] >> 5) & 1u ? X86_AVX2 : 0;
    const uint32_t avx512 = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);   /* F DQ BW VL */
    if ((r[1] & avx512) == avx512 && (x & 0xe0) == 0xe0) {  /* opmask and zmm state */
        f |= X86_AVX512;
        if ((r[1] >> 21) & 1u) f |= X86_AVX512IFMA;
    }
    return f;
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
    if (strcmp(name, "avx2") == 0) return (x86_features() & X86_AVX2) != 0;
    if (strcmp(name, "avx512") == 0) return (x86_features() & X86_AVX512) != 0;
    if (strcmp(name, "avx512ifma") == 0) return (x86_features() & X86_AVX512IFMA) != 0;
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
