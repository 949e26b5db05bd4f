/* The few compiler-specific spellings of the core, each with its MSVC and plain C11 forms, so
 * that the core builds with GCC, Clang and MSVC alike. None of them changes a value: sqrt is
 * correctly rounded in every form. */
#ifndef FASTINIT_COMPILER_H
#define FASTINIT_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#define FI_ALWAYS_INLINE inline __attribute__((always_inline))
#define FI_SQRTF(x) __builtin_sqrtf(x)   /* inline, no errno */
#define FI_SQRT(x) __builtin_sqrt(x)
#define FI_POPCOUNT32(x) __builtin_popcount(x)
#elif defined(_MSC_VER)
#include <intrin.h>
#include <math.h>
#define FI_ALWAYS_INLINE __forceinline
#define FI_SQRTF(x) sqrtf(x)
#define FI_SQRT(x) sqrt(x)
#define FI_POPCOUNT32(x) ((int)__popcnt(x))   /* only in AVX-512 code, where POPCNT exists */
#else
#include <math.h>
#define FI_ALWAYS_INLINE inline
#define FI_SQRTF(x) sqrtf(x)
#define FI_SQRT(x) sqrt(x)
static inline int fi_popcount32(unsigned x)
{
    int c = 0;
    for (; x; x &= x - 1u) c++;
    return c;
}
#define FI_POPCOUNT32(x) fi_popcount32(x)
#endif

#endif
