/* Per-element cost of the engine's parts, on one core, for every SIMD path this CPU runs:
 * the vector PCG64 generator, the uniform and normal kernels on a chunk that stays in L1
 * (normal: a standard normal's mix, every draw central, every draw in the tail), and whole
 * one-thread fills of 1 MiB (in cache) and 256 MiB (to memory, non-temporal stores).
 * Best of many short timings, so that a shared machine's noise is mostly filtered out.
 *
 *   cmake -S . -B build/kb -DFASTINIT_PYTHON=OFF -DFASTINIT_KBENCH=ON
 *   cmake --build build/kb && build/kb/kernel_bench
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include "fill.h"
#include "dispatch.h"
#include "kernels.h"

enum { N = 1024, BLOCKS = 64 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint32_t w32[N * BLOCKS];
static float out32[N];

/* ns per element of `calls` kernel calls on N elements, best of `tries` */
#define BEST(expr, calls, elems) do {                                            \
        double best_ = 1e9;                                                      \
        for (int t_ = 0; t_ < 40; t_++) {                                        \
            double t0_ = now();                                                  \
            for (int r = 0; r < (calls); r++) { expr; }                          \
            double dt_ = now() - t0_;                                            \
            if (dt_ < best_) best_ = dt_;                                        \
        }                                                                        \
        ns = best_ / ((double)(calls) * (elems)) * 1e9;                         \
    } while (0)

static fi_params_f normal_params(float cmax)
{
    fi_params_f p;
    memset(&p, 0, sizeof p);
    p.std = 1.0f; p.d = 1.0f; p.cmax = cmax; p.lo = -INFINITY; p.hi = INFINITY;   /* as for an untruncated normal */
    return p;
}

static double fill_ns(int sampler, int64_t bytes)
{
    int64_t n = bytes / 4;
    float *a = aligned_alloc(64, (size_t)bytes);
    memset(a, 0, (size_t)bytes);
    fi_stream st = {1, 2, 3, 5, 0, 0};
    fi_layout lay;
    memset(&lay, 0, sizeof lay);
    lay.ndim = 1; lay.shape[0] = n; lay.gstep[0] = 1; lay.ostride[0] = 4; lay.data = (char *)a;
    fi_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.sampler = sampler; sp.dtype = FI_F32;
    sp.range = 1; sp.scale = 1; sp.hi = 0.99999994;
    if (sampler == FI_NORMAL) { sp.std = 1; sp.d = 1; sp.cmax = 0.425; sp.lo = -INFINITY; sp.hi = INFINITY; }
    int reps = (int)(((int64_t)1 << 28) / bytes);
    double best = 1e9;
    for (int t = 0; t < 5; t++) {
        double t0 = now();
        for (int r = 0; r < (reps < 1 ? 1 : reps); r++) fi_fill(&sp, &st, &lay, 0, n, 1);
        double dt = (now() - t0) / (reps < 1 ? 1 : reps);
        if (dt < best) best = dt;
    }
    free(a);
    return best / n * 1e9;
}

int main(void)
{
    const char *const *isas = fi_isa_names;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N * BLOCKS; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        w32[i] = (uint32_t)(x >> 32);
    }
    printf("ns per float32 element, one core (best of 40 timings)\n");
    printf("%-10s %9s %9s %9s %9s %9s %11s %11s %11s %11s\n", "path", "pcg64", "uniform",
           "normal", "central", "tail", "fill unif", "fill norm", "fill unif", "fill norm");
    printf("%-10s %9s %9s %9s %9s %9s %11s %11s %11s %11s\n", "", "(/draw)", "kernel", "kernel",
           "all", "all", "1 MiB", "1 MiB", "256 MiB", "256 MiB");
    for (int k = 0; k < FI_ISA_COUNT; k++) {
        if (!fi_isa_supported(isas[k]) || fi_isa_select(isas[k]) != 0) continue;
        const fi_kernel_table *kt = fi_kernels();
        double ns, pcg = -1, un, nm, nc, nt;
        if (kt->pcg_draws) {
            static uint64_t d[N / 2];
            fi_pcg_lanes lanes;
            memset(&lanes, 0, sizeof lanes);
            for (int l = 0; l < FI_SIMD_LANES; l++) lanes.lo[l] = 2 * (uint64_t)l + 1;
            lanes.mult_lo = 0x4385df649fccf645ull; lanes.mult_hi = 0x2360ed051fc65da4ull;
            lanes.plus_lo = 1;
            BEST(kt->pcg_draws(&lanes, N / 2 / FI_SIMD_LANES, d), 200, N / 2);
            pcg = ns;
        }
        fi_params_f pu;
        memset(&pu, 0, sizeof pu);
        pu.range = 1; pu.scale = 1; pu.hi = 0.99999994f;
        BEST(kt->uniform_f(w32 + (r % BLOCKS) * N, N, &pu, out32), 200, N);
        un = ns;
        fi_params_f pn = normal_params(0.425f), pc = normal_params(1.0f), pt = normal_params(-1.0f);
        BEST(kt->normal_f(w32 + (r % BLOCKS) * N, N, &pn, out32), 100, N);
        nm = ns;
        BEST(kt->normal_f(w32 + (r % BLOCKS) * N, N, &pc, out32), 100, N);
        nc = ns;
        BEST(kt->normal_f(w32 + (r % BLOCKS) * N, N, &pt, out32), 100, N);
        nt = ns;
        char pcgs[16];
        if (pcg < 0) snprintf(pcgs, sizeof pcgs, "scalar");
        else snprintf(pcgs, sizeof pcgs, "%.3f", pcg);
        printf("%-10s %9s %9.3f %9.3f %9.3f %9.3f %11.3f %11.3f %11.3f %11.3f\n", isas[k], pcgs,
               un, nm, nc, nt, fill_ns(FI_UNIFORM, 1 << 20), fill_ns(FI_NORMAL, 1 << 20),
               fill_ns(FI_UNIFORM, 1 << 28), fill_ns(FI_NORMAL, 1 << 28));
    }
    return 0;
}
