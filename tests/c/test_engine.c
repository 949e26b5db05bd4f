/* The C core on its own, no Python: stream identity with numpy's PCG64 (values printed by
 * numpy.random.PCG64(12345)), jumps, and the fill invariances of the stream contract.
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
    CHECK(x == fi_pcg_advance(s0, inc, 0xffffffff0fffffffULL), "jump composition");
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

/* Every sampler x dtype x ISA: full fill == pieces, any thread count, strided layout. */
static void test_invariance(void)
{
    const int64_t n = 200003;
    const char *const *isas = fi_isa_names;
    for (int sampler = 0; sampler < 2; sampler++) {
        for (int dt = 0; dt < 4; dt++) {
            const int64_t isz = ITEM[dt];
            fi_spec s = spec_of(sampler, dt);
            char *ref = malloc(n * isz), *buf = malloc(n * isz), *wide = malloc(3 * n * isz);
            fi_layout lay;
            fi_isa_select("base");
            layout_1d(&lay, ref, n, isz);
            fi_fill(&s, &SEED12345, &lay, 0, n, 1);
            for (int k = 0; k < FI_ISA_COUNT; k++) {
                if (!fi_isa_supported(isas[k])) continue;
                fi_isa_select(isas[k]);
                for (int threads = 1; threads <= 4; threads += 3) {
                    memset(buf, 0, n * isz);
                    layout_1d(&lay, buf, n, isz);
                    fi_fill(&s, &SEED12345, &lay, 0, n, threads);
                    CHECK(memcmp(ref, buf, n * isz) == 0, "sampler %d dtype %d isa %s threads %d",
                          sampler, dt, isas[k], threads);
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
                CHECK(memcmp(ref, buf, n * isz) == 0, "pieces: sampler %d dtype %d isa %s",
                      sampler, dt, isas[k]);
                /* strided, reversed memory: element i at wide + (n-1-i)*3*isz */
                layout_1d(&lay, wide + (n - 1) * 3 * isz, n, isz);
                lay.ostride[0] = -3 * isz;
                fi_fill(&s, &SEED12345, &lay, 0, n, 2);
                int same = 1;
                for (int64_t i = 0; i < n && same; i++)
                    same = memcmp(ref + i * isz, wide + (n - 1 - i) * 3 * isz, isz) == 0;
                CHECK(same, "strided: sampler %d dtype %d isa %s", sampler, dt, isas[k]);
            }
            free(ref); free(buf); free(wide);
        }
    }
    fi_isa_select("auto");
}

/* Outputs past the streaming size, at an address that is not vector-aligned: written with
 * non-temporal stores when their memory is in use (malloc'ed and set), with plain stores after
 * their pages are mapped ahead when it is fresh (mmap). Either way they equal fills of small
 * pieces and write nothing outside. */
static void test_streamed_outputs(void)
{
#if defined(__linux__)
    const int kinds = 2;
#else
    const int kinds = 1;
#endif
    for (int fresh = 0; fresh < kinds; fresh++)
    for (int sampler = 0; sampler < 2; sampler++) {
        for (int dt = 0; dt < 4; dt++) {
            const int64_t isz = ITEM[dt];
            const int64_t n = ((int64_t)16 << 20) / isz + 1001;
            const size_t bytes = (size_t)(n * isz + 3 * isz);
            fi_spec s = spec_of(sampler, dt);
            char *buf, *ref = malloc(n * isz);
            const char guard_byte = fresh ? 0 : 0x5a;
#if defined(__linux__)
            if (fresh) {
                buf = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (buf == MAP_FAILED) buf = 0;
            } else
#endif
            buf = malloc(bytes);
            if (!buf || !ref) { CHECK(0, "streamed: out of memory"); free(ref); return; }
            if (!fresh) memset(buf, 0x5a, bytes);
            char *out = buf + isz;
            fi_layout lay;
            layout_1d(&lay, out, n, isz);
            fi_fill(&s, &SEED12345, &lay, 0, n, 2);
            for (int64_t a = 0; a < n; a += 100000) {
                int64_t len = n - a < 100000 ? n - a : 100000;
                layout_1d(&lay, ref + a * isz, len, isz);
                lay.gstart = a;
                fi_fill(&s, &SEED12345, &lay, 0, len, 1);
            }
            CHECK(memcmp(ref, out, n * isz) == 0, "streamed: fresh %d sampler %d dtype %d", fresh,
                  sampler, dt);
            int guard = 1;
            for (int64_t i = 0; i < isz; i++) guard &= buf[i] == guard_byte;
            for (int64_t i = 0; i < 2 * isz; i++) guard &= out[n * isz + i] == guard_byte;
            CHECK(guard, "streamed: bytes outside out written, fresh %d sampler %d dtype %d", fresh,
                  sampler, dt);
#if defined(__linux__)
            if (fresh) munmap(buf, bytes);
            else
#endif
            free(buf);
            free(ref);
        }
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
          after.state_hi == (uint64_t)(s3 >> 64) && after.state_lo == (uint64_t)s3, "after 5 words");
    fi_stream with_half = after, after2;
    fi_stream_after(&with_half, 1, 1, &after2);          /* only the buffered half is used */
    CHECK(after2.has_half == 0 && after2.state_lo == after.state_lo, "buffered half consumed");
    fi_stream_after(&SEED12345, 0, 7, &after);
    fi_u128 s7 = fi_pcg_advance(st_state(&SEED12345), st_inc(&SEED12345), 7);
    CHECK(after.state_lo == (uint64_t)s7 && after.has_half == 0, "after 7 draws");
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
    test_pcg();
    test_numpy_random_f32();
    test_invariance();
    test_streamed_outputs();
    test_normal_accuracy();
    test_stream_after();
    test_fill_many();
    printf("%s (%d failure%s), openmp=%d, isa=%s\n", failures ? "FAILED" : "ok", failures,
           failures == 1 ? "" : "s", fi_openmp_enabled(), fi_isa_current());
    return failures != 0;
}
