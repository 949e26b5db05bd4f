/* The C core on its own, no Python: stream identity with numpy's PCG64 (values printed by
 * numpy.random.PCG64(12345)), jumps, the golden values of tests/test_golden.py for every sampler
 * x output dtype, and the fill invariances of the stream contract (SIMD path, threads, layout,
 * blocks), so that this program alone proves the contract on a foreign platform (.ci/cross.sh).
 * Built by CMake with -DFASTINIT_CTEST=ON (and under ASan/UBSan with -DFASTINIT_SANITIZE=ON). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include "fill.h"
#include "pcg64.h"

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

/* numpy.random.PCG64(12345).state and its first draws */
static const fi_stream SEED12345 = {0x1905e0335aae9634ULL, 0x9199b0d09775add5ULL,
                                    0xc9c7353e6e2b1f28ULL, 0x7d761f2d4027fae7ULL, 0, 0};
static const uint64_t FIRST_DRAWS[5] = {0x3a32b18db2ffc19dULL, 0x51171315c9e4c4deULL,
    0xcc2024823444efd9ULL, 0xad1f06aea486e910ULL, 0x641fc168fd0b7b0dULL};
static const uint64_t DRAW_1000003 = 0x038a424e46735613ULL;   /* after advance(1000003) */
/* default_rng(12345).random(3, dtype=float32).view(uint32) */
static const uint32_t FIRST_F32[3] = {1060306881u, 1047055044u, 1061807300u};

static fi_u128 st_state(const fi_stream *s) { return fi_u128_make(s->state_hi, s->state_lo); }
static fi_u128 st_inc(const fi_stream *s) { return fi_u128_make(s->inc_hi, s->inc_lo); }

/* Every SIMD path this CPU runs is compared with base below. FASTINIT_EXPECT_SIMD (a list such
 * as "neon sve") names paths that must be among them, so that a run meant to cover a path (an
 * emulated CPU with SVE, say) fails instead of passing without it. */
static void test_isa_paths(void)
{
    char line[256] = "";
    for (int k = 0; k < FI_ISA_COUNT; k++)
        if (fi_isa_supported(fi_isa_names[k])) {
            strcat(line, " ");
            strcat(line, fi_isa_names[k]);
        }
    printf("SIMD paths on this CPU:%s\n", line);
    const char *want = getenv("FASTINIT_EXPECT_SIMD");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", want ? want : "");
    for (char *tok = strtok(buf, " ,"); tok; tok = strtok(0, " ,"))
        CHECK(fi_isa_supported(tok) && fi_isa_select(tok) == 0, "expected SIMD path %s is not available", tok);
    fi_isa_select("auto");
}

static void test_pcg(void)
{
    fi_pcg_cursor c;
    uint64_t d[64];
    fi_pcg_cursor_init(&c, st_state(&SEED12345), st_inc(&SEED12345));
    fi_pcg_cursor_draws(&c, d, 5);
    for (int i = 0; i < 5; i++) CHECK(d[i] == FIRST_DRAWS[i], "draw %d", i);
    fi_pcg_cursor_seek(&c, 1000003);
    fi_pcg_cursor_draws(&c, d, 1);
    CHECK(d[0] == DRAW_1000003, "draw after jump: %llx", (unsigned long long)d[0]);
    /* lanes (n >= 16) and the sequential tail agree with one-at-a-time stepping */
    uint64_t one[64];
    fi_pcg_cursor_seek(&c, 77);
    fi_pcg_cursor_draws(&c, d, 61);
    fi_pcg_cursor_seek(&c, 77);
    for (int i = 0; i < 61; i++) fi_pcg_cursor_draws(&c, &one[i], 1);
    CHECK(memcmp(d, one, 61 * 8) == 0, "lane draws differ from sequential draws");
    /* seeking backwards restarts from the base state */
    fi_pcg_cursor_seek(&c, 1);
    fi_pcg_cursor_draws(&c, d, 1);
    CHECK(d[0] == FIRST_DRAWS[1], "backward seek");
    /* 32-bit words: low half first */
    uint32_t w[4];
    fi_pcg_cursor_seek(&c, 0);
    fi_pcg_cursor_words(&c, w, 2);
    CHECK(w[0] == (uint32_t)FIRST_DRAWS[0] && w[1] == (uint32_t)(FIRST_DRAWS[0] >> 32) &&
          w[2] == (uint32_t)FIRST_DRAWS[1], "word order");
    /* huge jumps compose: advance(a) then advance(b) == advance(a + b) */
    fi_u128 s0 = st_state(&SEED12345), inc = st_inc(&SEED12345);
    fi_u128 x = fi_pcg_advance(fi_pcg_advance(s0, inc, 0xffffffff00000000ULL), inc, 0xfffffffULL);
    CHECK(fi_u128_eq(x, fi_pcg_advance(s0, inc, 0xffffffff0fffffffULL)), "jump composition");
}

/* The 128-bit arithmetic (native or limbs, FASTINIT_PORTABLE_U128) on operands that carry
 * through every limb; products from Python's integers. */
static void test_u128(void)
{
    const fi_u128 ones = fi_u128_make(~0ULL, ~0ULL), m = FI_PCG_MULT;
    fi_u128 x = fi_u128_mul(fi_u128_make(0, ~0ULL), fi_u128_make(0, ~0ULL));   /* (2^64-1)^2 */
    CHECK(fi_u128_hi(x) == 0xfffffffffffffffeULL && fi_u128_lo(x) == 1, "(2^64-1)^2");
    x = fi_u128_mul(ones, ones);                                             /* (-1)^2 = 1 */
    CHECK(fi_u128_hi(x) == 0 && fi_u128_lo(x) == 1, "(2^128-1)^2 mod 2^128");
    x = fi_u128_add(ones, fi_u128_make(0, 1));
    CHECK(fi_u128_hi(x) == 0 && fi_u128_lo(x) == 0, "carry out of the top limb");
    x = fi_u128_add(fi_u128_make(0, ~0ULL), fi_u128_make(0, 1));
    CHECK(fi_u128_hi(x) == 1 && fi_u128_lo(x) == 0, "carry between limbs");
    /* (2^128 - 1 - M) * M + M mod 2^128 */
    x = fi_u128_muladd(fi_u128_make(~FI_PCG_MULT_HI, ~FI_PCG_MULT_LO), m, m);
    CHECK(fi_u128_hi(x) == 0xe8431ca420968bc3ULL && fi_u128_lo(x) == 0xad612614df1f5167ULL,
          "muladd: %016llx %016llx", (unsigned long long)fi_u128_hi(x), (unsigned long long)fi_u128_lo(x));
}

static void layout_1d(fi_layout *lay, void *data, int64_t n, int64_t isz)
{
    memset(lay, 0, sizeof *lay);
    lay->ndim = 1;
    lay->shape[0] = n;
    lay->gstep[0] = 1;
    lay->ostride[0] = isz;
    lay->data = data;
}

static fi_spec spec_of(int sampler, int dtype)
{
    fi_spec s;
    memset(&s, 0, sizeof s);
    s.sampler = sampler;
    s.dtype = dtype;
    s.low = -0.5; s.range = 1.0; s.scale = 1.0; s.lo = -0.5; s.hi = 0.4999999;
    s.mean = 0.0; s.std = 1.0; s.pa = 0.0; s.qb = 0.0; s.d = 1.0; s.cq = 0.0; s.cmax = 0.425;
    if (sampler == FI_NORMAL) { s.lo = -INFINITY; s.hi = INFINITY; }
    return s;
}

static const int64_t ITEM[4] = {4, 8, 2, 2};

/* ---- tests/test_golden.py, in C ----
 * The first and last 4 elements (C order) of a (257, 129) fill with rng=12345 for every sampler
 * x dtype (cases in test_golden.py's order; dtypes in fill.h's order: float32, float64, float16,
 * bfloat16). G_VALUES are test_golden.py's pinned bit patterns, copied; G_PARAMS are the engine's
 * inputs for each case, the fi_spec fields low, range, scale, lo, hi, mean, std, pa, qb, d, cq,
 * cmax, log_off as fastinit/_params.py computes them (double bit patterns). */
#define G_CASES 5
#define G_ROWS 257
#define G_COLS 129
static const int G_SAMPLER[G_CASES] = {FI_UNIFORM, FI_UNIFORM, FI_NORMAL, FI_NORMAL, FI_NORMAL};

static const uint64_t G_PARAMS[G_CASES][4][13] = {
    { /* random() */
        {0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x3ff0000000000000ULL, 0x0000000000000000ULL,
         0x3fefffffe0000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x3ff0000000000000ULL, 0x0000000000000000ULL,
         0x3fefffffffffffffULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x3ff0000000000000ULL, 0x0000000000000000ULL,
         0x3feffc0000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x3ff0000000000000ULL, 0x0000000000000000ULL,
         0x3fefe00000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL},
    },
    { /* uniform(low=-0.5, high=2.0) */
        {0xbfe0000000000000ULL, 0x4004000000000000ULL, 0x3ff0000000000000ULL, 0xbfe0000000000000ULL,
         0x3fffffffe0000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL},
        {0xbfe0000000000000ULL, 0x4004000000000000ULL, 0x3ff0000000000000ULL, 0xbfe0000000000000ULL,
         0x3fffffffffffffffULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL},
        {0xbfe0000000000000ULL, 0x4004000000000000ULL, 0x3ff0000000000000ULL, 0xbfe0000000000000ULL,
         0x3ffffc0000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL},
        {0xbfe0000000000000ULL, 0x4004000000000000ULL, 0x3ff0000000000000ULL, 0xbfe0000000000000ULL,
         0x3fffe00000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL},
    },
    { /* normal(mean=0.25, std=2.0) */
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0xfff0000000000000ULL,
         0x7ff0000000000000ULL, 0x3fd0000000000000ULL, 0x4000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x0000000000000000ULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0xfff0000000000000ULL,
         0x7ff0000000000000ULL, 0x3fd0000000000000ULL, 0x4000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x0000000000000000ULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0xfff0000000000000ULL,
         0x7ff0000000000000ULL, 0x3fd0000000000000ULL, 0x4000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x0000000000000000ULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0xfff0000000000000ULL,
         0x7ff0000000000000ULL, 0x3fd0000000000000ULL, 0x4000000000000000ULL, 0x0000000000000000ULL,
         0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x0000000000000000ULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
    },
    { /* truncated_normal(mean=-1.0, std=0.5, lower=-2.0, upper=1.5) */
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0xc000000000000000ULL,
         0xbfd0000000000000ULL, 0xbff0000000000000ULL, 0x3fe0000000000000ULL, 0x3f974bcf82c9d863ULL,
         0x3fb11a46d89647f0ULL, 0x3fed2258a8d6e83fULL, 0xbf968ea5efc7a3b0ULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0xc000000000000000ULL,
         0xbfd0000000000000ULL, 0xbff0000000000000ULL, 0x3fe0000000000000ULL, 0x3f974bcf82c9d863ULL,
         0x3fb11a46d89647f0ULL, 0x3fed2258a8d6e83fULL, 0xbf968ea5efc7a3b0ULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0xc000000000000000ULL,
         0xbfd0000000000000ULL, 0xbff0000000000000ULL, 0x3fe0000000000000ULL, 0x3f974bcf82c9d863ULL,
         0x3fb11a46d89647f0ULL, 0x3fed2258a8d6e83fULL, 0xbf968ea5efc7a3b0ULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0xc000000000000000ULL,
         0xbfd0000000000000ULL, 0xbff0000000000000ULL, 0x3fe0000000000000ULL, 0x3f974bcf82c9d863ULL,
         0x3fb11a46d89647f0ULL, 0x3fed2258a8d6e83fULL, 0xbf968ea5efc7a3b0ULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
    },
    { /* truncated_normal(mean=0.0, std=1.0, lower=4.0, upper=6.0) */
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x4010000000000000ULL,
         0x4018000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x3fefffbd94a1aad4ULL,
         0x3e10f30ef0092d57ULL, 0x3f009ab5af2d1fecULL, 0x3fdfffbd941a125cULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x4010000000000000ULL,
         0x4018000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x3fefffbd94a1aad4ULL,
         0x3e10f30ef0092d57ULL, 0x3f009ab5af2d1fecULL, 0x3fdfffbd941a125cULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x4010000000000000ULL,
         0x4018000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x3fefffbd94a1aad4ULL,
         0x3e10f30ef0092d57ULL, 0x3f009ab5af2d1fecULL, 0x3fdfffbd941a125cULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
        {0x0000000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x4010000000000000ULL,
         0x4018000000000000ULL, 0x0000000000000000ULL, 0x3ff0000000000000ULL, 0x3fefffbd94a1aad4ULL,
         0x3e10f30ef0092d57ULL, 0x3f009ab5af2d1fecULL, 0x3fdfffbd941a125cULL, 0x3fdb333333333333ULL,
         0x0000000000000000ULL},
    },
};

static const uint64_t G_VALUES[G_CASES][4][8] = {
    {
        {0x3f32ffc1, 0x3e68cac4, 0x3f49e4c4, 0x3ea22e26,
         0x3f383393, 0x3e14a6f4, 0x3f2bfeb0, 0x3d83c480},
        {0x3fcd1958c6d97fe0ULL, 0x3fd445c4c5727930ULL, 0x3fe984049046889dULL, 0x3fe5a3e0d5d490ddULL,
         0x3fd1beca35721a72ULL, 0x3fee28cd648c8fb1ULL, 0x3fd36675d6de6cfeULL, 0x3fd6c00b4274ae68ULL},
        {0x3998, 0x3346, 0x3a4f, 0x3511,
         0x39c2, 0x30a5, 0x3960, 0x2c1e},
        {0x3f33, 0x3e69, 0x3f4a, 0x3ea2,
         0x3f38, 0x3e15, 0x3f2c, 0x3d84},
    },
    {
        {0x3f9fbfb1, 0x3d8bf5d0, 0x3fbc5df5, 0x3e957360,
         0x3fa64078, 0xbe0c5e9e, 0x3f96fe5c, 0xbeada530},
        {0x3fb17ebbe23f7f60ULL, 0x3fd2ae6bed9e2ef8ULL, 0x3ff7e505b4582ac4ULL, 0x3ff30cd90b49b514ULL,
         0x3fc8b9f30b3a8438ULL, 0x3ffdb300bdafb39eULL, 0x3fd08026992c107cULL, 0x3fd8e01c2623b404ULL},
        {0x3cfe, 0x2c60, 0x3de3, 0x34ac,
         0x3d32, 0xb063, 0x3cb8, 0xb56d},
        {0x3fa0, 0x3d8c, 0x3fbc, 0x3e95,
         0x3fa6, 0xbe0c, 0x3f97, 0xbeae},
    },
    {
        {0x3fa5ab3e, 0xbf9f65e8, 0x3fed3e8a, 0xbf341ce5,
         0x3fb4daff, 0xbfeeb0ba, 0x3f91ee37, 0xc0327969},
        {0xbff3ecbd182949deULL, 0xbfe6839caf59835fULL, 0x3ffea1c6261f1e1eULL, 0x3ff2a1cccf416e28ULL,
         0xbfedd2787ad1a236ULL, 0x400b371205922bedULL, 0xbfe8fcb15c5fdb8aULL, 0xbfdf6f7ef0fbbde0ULL},
        {0x3d2d, 0xbcfb, 0x3f6a, 0xb9a1,
         0x3da7, 0xbf76, 0x3c8f, 0xc194},
        {0x3fa6, 0xbf9f, 0x3fed, 0xbf34,
         0x3fb5, 0xbfef, 0x3f92, 0xc032},
    },
    {
        {0xbf4b6ef0, 0xbfaf5807, 0xbf2d5936, 0xbf9f8718,
         0xbf44e76c, 0xbfc0ff14, 0xbf54041e, 0xbfd95b46},
        {0xbff5eb00d8e1c9d8ULL, 0xbff3f0e2edbf4cb2ULL, 0xbfe545f357c1d85eULL, 0xbfea54ce5c31ec60ULL,
         0xbff4c70e5fbd45f0ULL, 0xbfda44a5f04d791aULL, 0xbff43973a3475ef8ULL, 0xbff329276ba5e977ULL},
        {0xba5b, 0xbd7b, 0xb96b, 0xbcfc,
         0xba27, 0xbe08, 0xbaa0, 0xbecb},
        {0xbf4b, 0xbfaf, 0xbf2d, 0xbfa0,
         0xbf45, 0xbfc1, 0xbf54, 0xbfd9},
    },
    {
        {0x4088d288, 0x4081f097, 0x408b5112, 0x4082db0e,
         0x408951f7, 0x40812ecf, 0x40883357, 0x408080b2},
        {0x40103e12c1bdeaf0ULL, 0x40105b61c9182c4fULL, 0x401173932f7e3b61ULL, 0x401109820e9ad00eULL,
         0x40104e0426c84a50ULL, 0x401285c7fc3a9daaULL, 0x401056b01180effdULL, 0x401069376e670f0aULL},
        {0x4447, 0x4410, 0x445b, 0x4417,
         0x444b, 0x4409, 0x4442, 0x4404},
        {0x4089, 0x4082, 0x408b, 0x4083,
         0x4089, 0x4081, 0x4088, 0x4081},
    },
};

static double from_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, 8);
    return x;
}

static fi_spec golden_spec(int c, int dt)
{
    const uint64_t *p = G_PARAMS[c][dt];
    fi_spec s;
    memset(&s, 0, sizeof s);
    s.sampler = G_SAMPLER[c];
    s.dtype = dt;
    s.low = from_bits(p[0]); s.range = from_bits(p[1]); s.scale = from_bits(p[2]);
    s.lo = from_bits(p[3]); s.hi = from_bits(p[4]); s.mean = from_bits(p[5]); s.std = from_bits(p[6]);
    s.pa = from_bits(p[7]); s.qb = from_bits(p[8]); s.d = from_bits(p[9]); s.cq = from_bits(p[10]);
    s.cmax = from_bits(p[11]); s.log_off = from_bits(p[12]);
    return s;
}

/* the bits of one element of width isz */
static uint64_t elem_bits(const char *p, int64_t isz)
{
    uint16_t h;
    uint32_t w;
    uint64_t d;
    if (isz == 2) { memcpy(&h, p, 2); return h; }
    if (isz == 4) { memcpy(&w, p, 4); return w; }
    memcpy(&d, p, 8);
    return d;
}

/* a 2-D layout of the (G_ROWS, G_COLS) virtual tensor's block [r0, r0+nr) x [c0, c0+nc) */
static void layout_2d(fi_layout *lay, char *data, int64_t nr, int64_t nc, int64_t rstride,
                      int64_t cstride, int64_t r0, int64_t c0)
{
    memset(lay, 0, sizeof *lay);
    lay->ndim = 2;
    lay->shape[0] = nr; lay->shape[1] = nc;
    lay->gstep[0] = G_COLS; lay->gstep[1] = 1;
    lay->ostride[0] = rstride; lay->ostride[1] = cstride;
    lay->gstart = r0 * G_COLS + c0;
    lay->data = data;
}

/* whether element (i, j) of a layout-filled buffer equals element (i + r0, j + c0) of ref */
static int same_block(const char *ref, const fi_layout *lay, int64_t isz, int64_t r0, int64_t c0)
{
    for (int64_t i = 0; i < lay->shape[0]; i++)
        for (int64_t j = 0; j < lay->shape[1]; j++)
            if (memcmp(lay->data + i * lay->ostride[0] + j * lay->ostride[1],
                       ref + ((i + r0) * G_COLS + j + c0) * isz, (size_t)isz) != 0)
                return 0;
    return 1;
}

static int isas_checked = 0;   /* bit k: fi_isa_names[k] ran the golden values */

/* Golden values on every SIMD path this CPU has, and the same fill in C order, Fortran order,
 * reversed on both axes, and as blocks of the virtual tensor. */
static void test_golden(void)
{
    const int64_t n = G_ROWS * G_COLS;
    for (int c = 0; c < G_CASES; c++) {
        for (int dt = 0; dt < 4; dt++) {
            const int64_t isz = ITEM[dt];
            const fi_spec s = golden_spec(c, dt);
            char *ref = malloc((size_t)(n * isz)), *buf = malloc((size_t)(n * isz));
            if (!ref || !buf) { CHECK(0, "golden: out of memory"); free(ref); free(buf); return; }
            fi_layout lay;
            for (int k = 0; k < FI_ISA_COUNT; k++) {
                if (!fi_isa_supported(fi_isa_names[k]) || fi_isa_select(fi_isa_names[k]) != 0) continue;
                isas_checked |= 1 << k;
                char *got = k == 0 ? ref : buf;        /* the base path's fill is the reference */
                memset(got, 0, (size_t)(n * isz));
                layout_2d(&lay, got, G_ROWS, G_COLS, G_COLS * isz, isz, 0, 0);
                fi_fill(&s, &SEED12345, &lay, 0, n, 2);
                int ok = 1;
                for (int e = 0; e < 4; e++) {
                    ok &= elem_bits(got + e * isz, isz) == G_VALUES[c][dt][e];
                    ok &= elem_bits(got + (n - 4 + e) * isz, isz) == G_VALUES[c][dt][4 + e];
                }
                CHECK(ok, "golden values: case %d dtype %d isa %s: first %llx, last %llx", c, dt,
                      fi_isa_names[k], (unsigned long long)elem_bits(got, isz),
                      (unsigned long long)elem_bits(got + (n - 1) * isz, isz));
                if (k > 0) CHECK(memcmp(ref, buf, (size_t)(n * isz)) == 0,
                                 "golden fill: case %d dtype %d isa %s differs from base", c, dt, fi_isa_names[k]);
                /* Fortran order */
                layout_2d(&lay, buf, G_ROWS, G_COLS, isz, G_ROWS * isz, 0, 0);
                fi_fill(&s, &SEED12345, &lay, 0, n, 2);
                CHECK(same_block(ref, &lay, isz, 0, 0), "F order: case %d dtype %d isa %s", c, dt,
                      fi_isa_names[k]);
                /* negative strides on both axes: element (i, j) at buf + (n - 1 - i*cols - j) */
                layout_2d(&lay, buf + (n - 1) * isz, G_ROWS, G_COLS, -G_COLS * isz, -isz, 0, 0);
                fi_fill(&s, &SEED12345, &lay, 0, n, 2);
                CHECK(same_block(ref, &lay, isz, 0, 0), "reversed: case %d dtype %d isa %s", c, dt,
                      fi_isa_names[k]);
                /* blocks of the virtual tensor: index (100:200, 3:120), a column (:, 77:78) and a
                 * row's tail (256:257, 5:129), each C-contiguous */
                const int64_t blk[3][4] = {{100, 100, 3, 117}, {0, G_ROWS, 77, 1}, {256, 1, 5, 124}};
                for (int b = 0; b < 3; b++) {
                    layout_2d(&lay, buf, blk[b][1], blk[b][3], blk[b][3] * isz, isz, blk[b][0], blk[b][2]);
                    fi_fill(&s, &SEED12345, &lay, 0, blk[b][1] * blk[b][3], 1);
                    CHECK(same_block(ref, &lay, isz, blk[b][0], blk[b][2]), "block %d: case %d dtype %d isa %s",
                          b, c, dt, fi_isa_names[k]);
                }
            }
            free(ref);
            free(buf);
        }
    }
    fi_isa_select("auto");
}

#if defined(FI_HAVE_X86_KERNELS) && (defined(__GNUC__) || defined(__clang__))
/* dispatch.c's cpuid probe agrees with the compiler's own (GCC and Clang, here and in MinGW) */
static void test_cpu_probe(void)
{
    __builtin_cpu_init();
    const int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    CHECK(fi_isa_supported("avx2") == (__builtin_cpu_supports("avx2") != 0), "probe: avx2");
    CHECK(fi_isa_supported("avx512") == avx512, "probe: avx512");
    CHECK(fi_isa_supported("avx512ifma") == (avx512 && __builtin_cpu_supports("avx512ifma")),
          "probe: avx512ifma");
}
#else
static void test_cpu_probe(void) {}
#endif

static void test_numpy_random_f32(void)
{
    float a[3];
    fi_layout lay;
    fi_spec s = spec_of(FI_UNIFORM, FI_F32);
    s.low = 0.0; s.range = 1.0; s.lo = 0.0; s.hi = 1.0 - 0x1p-24;
    layout_1d(&lay, a, 3, 4);
    fi_fill(&s, &SEED12345, &lay, 0, 3, 1);
    for (int i = 0; i < 3; i++) {
        uint32_t b;
        memcpy(&b, &a[i], 4);
        CHECK(b == FIRST_F32[i], "random float32 %d", i);
    }
}

/* Every golden case x dtype x ISA on a longer 1-D run: the single-threaded base fill equals
 * fills with more threads, in pieces at odd offsets, and strided in reversed memory. */
static void test_invariance(void)
{
    const int64_t n = 200003;
    const char *const *isas = fi_isa_names;
    for (int c = 0; c < G_CASES; c++) {
        for (int dt = 0; dt < 4; dt++) {
            const int64_t isz = ITEM[dt];
            fi_spec s = golden_spec(c, dt);
            char *ref = malloc(n * isz), *buf = malloc(n * isz), *wide = malloc(3 * n * isz);
            fi_layout lay;
            fi_isa_select("base");
            layout_1d(&lay, ref, n, isz);
            fi_fill(&s, &SEED12345, &lay, 0, n, 1);
            for (int k = 0; k < FI_ISA_COUNT; k++) {
                if (!fi_isa_supported(isas[k])) continue;
                fi_isa_select(isas[k]);
                static const int thread_counts[3] = {1, 3, 4};
                for (int t = 0; t < 3; t++) {
                    const int threads = thread_counts[t];
                    memset(buf, 0, n * isz);
                    layout_1d(&lay, buf, n, isz);
                    fi_fill(&s, &SEED12345, &lay, 0, n, threads);
                    CHECK(memcmp(ref, buf, n * isz) == 0, "case %d dtype %d isa %s threads %d",
                          c, dt, isas[k], threads);
                }
                /* pieces at odd offsets, through the global index */
                memset(buf, 0, n * isz);
                for (int64_t a = 0; a < n;) {
                    int64_t len = 1 + (a * 7919) % 5003;
                    if (a + len > n) len = n - a;
                    layout_1d(&lay, buf + a * isz, len, isz);
                    lay.gstart = a;
                    fi_fill(&s, &SEED12345, &lay, 0, len, 2);
                    a += len;
                }
                CHECK(memcmp(ref, buf, n * isz) == 0, "pieces: case %d dtype %d isa %s",
                      c, dt, isas[k]);
                /* strided, reversed memory: element i at wide + (n-1-i)*3*isz */
                layout_1d(&lay, wide + (n - 1) * 3 * isz, n, isz);
                lay.ostride[0] = -3 * isz;
                fi_fill(&s, &SEED12345, &lay, 0, n, 2);
                int same = 1;
                for (int64_t i = 0; i < n && same; i++)
                    same = memcmp(ref + i * isz, wide + (n - 1 - i) * 3 * isz, isz) == 0;
                CHECK(same, "strided: case %d dtype %d isa %s", c, dt, isas[k]);
            }
            free(ref); free(buf); free(wide);
        }
    }
    fi_isa_select("auto");
}

/* Outputs past the streaming size, at an address that is not vector-aligned: written with
 * non-temporal stores when their memory is in use (malloc'ed and set), with plain stores after
 * their pages are mapped ahead when it is fresh (mmap). Either way they equal fills of small
 * pieces and write nothing outside. The store path depends on the dtype's width, not on the
 * sampler (values pass through the same buffer), so uniform alone keeps emulated runs short. */
static void test_streamed_outputs(void)
{
#if defined(__linux__)
    const int kinds = 2;
#else
    const int kinds = 1;
#endif
    for (int dt = 0; dt < 4; dt++) {
        const int64_t isz = ITEM[dt];
        const int64_t n = ((int64_t)16 << 20) / isz + 1001;
        const size_t bytes = (size_t)(n * isz + 3 * isz);
        const fi_spec s = spec_of(FI_UNIFORM, dt);
        char *ref = malloc((size_t)(n * isz));
        if (!ref) { CHECK(0, "streamed: out of memory"); return; }
        fi_layout lay;
        for (int64_t a = 0; a < n; a += 100000) {
            int64_t len = n - a < 100000 ? n - a : 100000;
            layout_1d(&lay, ref + a * isz, len, isz);
            lay.gstart = a;
            fi_fill(&s, &SEED12345, &lay, 0, len, 1);
        }
        for (int fresh = 0; fresh < kinds; fresh++) {
            char *buf;
            const char guard_byte = fresh ? 0 : 0x5a;
#if defined(__linux__)
            if (fresh) {
                buf = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (buf == MAP_FAILED) buf = 0;
            } else
#endif
            buf = malloc(bytes);
            if (!buf) { CHECK(0, "streamed: out of memory"); break; }
            if (!fresh) memset(buf, 0x5a, bytes);
            char *out = buf + isz;
            layout_1d(&lay, out, n, isz);
            fi_fill(&s, &SEED12345, &lay, 0, n, 2);
            CHECK(memcmp(ref, out, (size_t)(n * isz)) == 0, "streamed: fresh %d dtype %d", fresh, dt);
            int guard = 1;
            for (int64_t i = 0; i < isz; i++) guard &= buf[i] == guard_byte;
            for (int64_t i = 0; i < 2 * isz; i++) guard &= out[n * isz + i] == guard_byte;
            CHECK(guard, "streamed: bytes outside out written, fresh %d dtype %d", fresh, dt);
#if defined(__linux__)
            if (fresh) munmap(buf, bytes);
            else
#endif
            free(buf);
        }
        free(ref);
    }
}

/* normal float64 against libm's erfc inverse check: Phi(z) ~= u */
static void test_normal_accuracy(void)
{
    const int64_t n = 100000;
    double *z = malloc(n * 8);
    uint64_t *r = malloc(n * 8);
    fi_layout lay;
    fi_spec s = spec_of(FI_NORMAL, FI_F64);
    layout_1d(&lay, z, n, 8);
    fi_fill(&s, &SEED12345, &lay, 0, n, 1);
    fi_pcg_cursor c;
    fi_pcg_cursor_init(&c, st_state(&SEED12345), st_inc(&SEED12345));
    fi_pcg_cursor_draws(&c, r, n);
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double u = ((double)(r[i] >> 12) + 0.5) * 0x1p-52;
        double p = 0.5 * erfc(-z[i] / sqrt(2.0));
        double pu = u < 0.5 ? u : 1 - u, pp = u < 0.5 ? p : 1 - p;
        double rel = fabs(pp - pu) / pu;
        if (rel > worst) worst = rel;
    }
    CHECK(worst < 1e-12, "normal float64: Phi(z) differs from u by %g relative", worst);
    free(z); free(r);
}

static void test_stream_after(void)
{
    fi_stream after;
    fi_stream_after(&SEED12345, 1, 5, &after);           /* 5 words: 3 draws, 1 half left */
    fi_u128 s3 = fi_pcg_advance(st_state(&SEED12345), st_inc(&SEED12345), 3);
    CHECK(after.has_half == 1 && after.half == (uint32_t)(FIRST_DRAWS[2] >> 32) &&
          after.state_hi == fi_u128_hi(s3) && after.state_lo == fi_u128_lo(s3), "after 5 words");
    fi_stream with_half = after, after2;
    fi_stream_after(&with_half, 1, 1, &after2);          /* only the buffered half is used */
    CHECK(after2.has_half == 0 && after2.state_lo == after.state_lo, "buffered half consumed");
    fi_stream_after(&SEED12345, 0, 7, &after);
    fi_u128 s7 = fi_pcg_advance(st_state(&SEED12345), st_inc(&SEED12345), 7);
    CHECK(after.state_lo == fi_u128_lo(s7) && after.has_half == 0, "after 7 draws");
}

/* fi_fill_many: each item equals its own fi_fill, whatever the slices of the batch and the
 * thread count; nothing outside the outputs is written; a bad item writes nothing. */
static void test_fill_many(void)
{
    enum { NI = 6 };
    const int64_t sizes[NI] = {70001, 5, 0, 131072, 1, 65537};
    const int samplers[NI] = {FI_NORMAL, FI_UNIFORM, FI_NORMAL, FI_UNIFORM, FI_NORMAL, FI_NORMAL};
    const int dtypes[NI] = {FI_F32, FI_F64, FI_F16, FI_BF16, FI_F32, FI_F64};
    fi_item items[NI];
    char *outs[NI], *refs[NI];
    int64_t total = 0;
    for (int k = 0; k < NI; k++) {
        const int64_t isz = ITEM[dtypes[k]];
        outs[k] = malloc((size_t)(sizes[k] + 16) * isz);
        refs[k] = malloc((size_t)(sizes[k] + 1) * isz);
        items[k].spec = spec_of(samplers[k], dtypes[k]);
        items[k].st = SEED12345;
        items[k].st.state_lo += (uint64_t)k;          /* a stream of its own */
        items[k].st.has_half = k & 1;
        items[k].st.half = 0x89abcdefu;
        layout_1d(&items[k].lay, outs[k] + 8 * isz, sizes[k], isz);
        items[k].n = sizes[k];
        fi_layout lay;
        layout_1d(&lay, refs[k], sizes[k], isz);
        fi_fill(&items[k].spec, &items[k].st, &lay, 0, sizes[k], 1);
        total += sizes[k];
    }
    const int64_t cuts[][4] = {{0, total, -1, -1}, {0, 3, 70003, total}, {0, 65536, 200000, total}};
    for (int c = 0; c < 3; c++) {
        for (int threads = 1; threads <= 3; threads += 2) {
            for (int k = 0; k < NI; k++)
                memset(outs[k], 0x5a, (size_t)(sizes[k] + 16) * ITEM[dtypes[k]]);
            int64_t a = 0;
            for (int j = 1; j < 4 && cuts[c][j] >= 0; j++) {
                CHECK(fi_fill_many(items, NI, a, cuts[c][j], threads) == 0, "fill_many rc");
                a = cuts[c][j];
            }
            if (cuts[c][1] == total) CHECK(fi_fill_many(items, NI, 0, total, threads) == 0, "rc");
            for (int k = 0; k < NI; k++) {
                const int64_t isz = ITEM[dtypes[k]];
                CHECK(memcmp(outs[k] + 8 * isz, refs[k], (size_t)(sizes[k] * isz)) == 0,
                      "fill_many item %d cut %d threads %d", k, c, threads);
                int guard = 1;
                for (int64_t b = 0; b < 8 * isz; b++)
                    guard &= outs[k][b] == 0x5a && outs[k][(sizes[k] + 8) * isz + b] == 0x5a;
                CHECK(guard, "fill_many wrote outside item %d", k);
            }
        }
    }
    /* an invalid item: -1 and nothing written */
    for (int k = 0; k < NI; k++) memset(outs[k], 0x5a, (size_t)(sizes[k] + 16) * ITEM[dtypes[k]]);
    items[NI - 1].spec.dtype = 9;
    CHECK(fi_fill_many(items, NI, 0, total, 2) == -1, "bad item accepted");
    CHECK((unsigned char)outs[0][8 * 4] == 0x5a, "bad batch wrote");
    for (int k = 0; k < NI; k++) { free(outs[k]); free(refs[k]); }
    /* the bandwidth yardstick writes its pattern and nothing else */
    unsigned char *b = malloc(100003 + 2);
    for (int nt = 0; nt < 2; nt++) {
        memset(b, 0xab, 100003 + 2);
        fi_store_fill((char *)b + 1, 100003, 0x0102030405060708ULL, 3, nt);
        int ok = b[0] == 0xab && b[100003 + 1] == 0xab;
        for (int64_t i = 0; i < 100003; i++) ok &= b[1 + i] == (unsigned char)(8 - i % 8);
        CHECK(ok, "store_fill nontemporal=%d", nt);
    }
    free(b);
}

int main(void)
{
    test_isa_paths();
    test_pcg();
    test_u128();
    test_cpu_probe();
    test_numpy_random_f32();
    test_golden();
    test_invariance();
    test_streamed_outputs();
    test_normal_accuracy();
    test_stream_after();
    test_fill_many();
    printf("golden values and invariances checked on:");
    for (int k = 0; k < FI_ISA_COUNT; k++)
        if (isas_checked & (1 << k)) printf(" %s", fi_isa_names[k]);
    printf("\n%s (%d failure%s), openmp=%d, isa=%s, u128=%s\n", failures ? "FAILED" : "ok", failures,
           failures == 1 ? "" : "s", fi_openmp_enabled(), fi_isa_current(),
           FI_U128_NATIVE ? "native" : "limbs");
    return failures != 0;
}
