#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE      /* madvise, mincore and sysconf under strict -std=c11 too */
#endif
#include <string.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#if !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23       /* Linux 5.14; older kernels answer EINVAL */
#endif
#endif
#include "fill.h"
#include "fill_job.h"
#include "pcg64.h"
#include "dispatch.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(_OPENMP) && (defined(__unix__) || defined(__APPLE__))
#include <pthread.h>
#include <stdlib.h>
#define FI_FORK_GUARD 1
#endif

/* Elements per inner chunk: word and value buffers stay in L1. */
#define FI_CHUNK 1024
/* Outputs from this size on are written with non-temporal stores. */
#define FI_STREAM_BYTES ((int64_t)16 << 20)
/* Fresh outputs from this size on have their pages mapped ahead of the writes, this many bytes
 * at a time. */
#define FI_POPULATE_BYTES ((int64_t)1 << 20)
#define FI_POPULATE_STEP ((int64_t)256 << 10)

int fi_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fi_openmp_version(void)
{
#ifdef _OPENMP
    return _OPENMP;
#else
    return 0;
#endif
}

/* libgomp's thread pool does not survive fork(): in the child the pool still lists the
 * parent's workers, and the next parallel region waits for them forever. Whoever started
 * the pool (fastinit, or torch sharing the same libgomp), a forked child therefore never
 * enters OpenMP: its fills run on POSIX threads started for the call (values never depend on
 * the threads). The handler is installed when the engine is loaded, before any fork. Every
 * parallel region of the engine must take this branch. */
#ifdef FI_FORK_GUARD
static int forked_child;
static void on_fork_child(void) { forked_child = 1; }
__attribute__((constructor)) static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}
#endif

int fi_forked_child(void)
{
#ifdef FI_FORK_GUARD
    return forked_child;
#else
    return 0;
#endif
}

static int is_word32(int dtype) { return dtype != FI_F64; }
static int64_t itemsize(int dtype) { return dtype == FI_F64 ? 8 : dtype == FI_F32 ? 4 : 2; }

void fi_layout_coalesce(fi_layout *lay)
{
    /* drop length-1 axes, then merge axis k into k+1 when stepping k equals stepping k+1
     * shape[k+1] times, both in the global index and in memory */
    int nd = 0;
    for (int k = 0; k < lay->ndim; k++) {
        if (lay->shape[k] == 1) continue;
        lay->shape[nd] = lay->shape[k];
        lay->gstep[nd] = lay->gstep[k];
        lay->ostride[nd] = lay->ostride[k];
        nd++;
    }
    if (nd == 0) {   /* a single element (or a 0-d array) */
        lay->shape[0] = 1; lay->gstep[0] = 1; lay->ostride[0] = 0; nd = 1;
    }
    int out = 0;
    for (int k = 1; k < nd; k++) {
        if (lay->gstep[out] == lay->gstep[k] * lay->shape[k] &&
            lay->ostride[out] == lay->ostride[k] * lay->shape[k]) {
            lay->shape[out] *= lay->shape[k];
            lay->gstep[out] = lay->gstep[k];
            lay->ostride[out] = lay->ostride[k];
        } else {
            out++;
            lay->shape[out] = lay->shape[k];
            lay->gstep[out] = lay->gstep[k];
            lay->ostride[out] = lay->ostride[k];
        }
    }
    lay->ndim = out + 1;
}


typedef struct {
    fi_pcg_cursor cur;
    fi_pcg_lanes lanes;        /* vector lanes (kernel tables with pcg_draws), see draws_into */
    uint64_t lanes_pos;        /* the draw that lane 0 outputs next */
    int lanes_ok;
    /* draws land at w32 + 2 (8-byte aligned); w32[1] can take numpy's buffered half */
    _Alignas(64) uint32_t w32[FI_CHUNK + 4];
    _Alignas(64) uint64_t w64[FI_CHUNK];
    uint32_t g32[FI_CHUNK];
    uint64_t g64[FI_CHUNK];
    float vf[FI_CHUNK];
    double vd[FI_CHUNK];
    uint16_t vh[FI_CHUNK];
} fi_worker;

static void worker_init(fi_worker *wk, const fi_job *job)
{
    const fi_stream *st = job->st;
    fi_u128 inc = fi_u128_make(st->inc_hi, st->inc_lo);
    fi_pcg_cursor_init(&wk->cur, fi_u128_make(st->state_hi, st->state_lo), inc);
    wk->lanes_ok = 0;
    if (job->kt->pcg_draws) {
        fi_u128 m, p;
        fi_pcg_jump_params(inc, FI_SIMD_LANES, &m, &p);
        wk->lanes.mult_hi = fi_u128_hi(m);
        wk->lanes.mult_lo = fi_u128_lo(m);
        wk->lanes.plus_hi = fi_u128_hi(p);
        wk->lanes.plus_lo = fi_u128_lo(p);
    }
}

/* Draws d .. d+n-1 into out: 64-bit values, or (words) pairs of 32-bit words in numpy's
 * next_uint32 order. Vector lanes, where the kernel table has them, carry on from one call
 * to the next when the runs are contiguous; the scalar cursor does the rest. */
static void draws_into(fi_worker *wk, const fi_kernel_table *kt, uint64_t d, int64_t n,
                       void *out, int words)
{
    int64_t done = 0;
    if (kt->pcg_draws && n >= FI_SIMD_LANES) {
        if (!wk->lanes_ok || wk->lanes_pos != d) {
            fi_pcg_cursor_seek(&wk->cur, d);
            fi_u128 x = wk->cur.sigma, inc = wk->cur.inc;
            for (int l = 0; l < FI_SIMD_LANES; l++) {
                wk->lanes.hi[l] = fi_u128_hi(x);
                wk->lanes.lo[l] = fi_u128_lo(x);
                x = fi_u128_muladd(x, FI_PCG_MULT, inc);
            }
            wk->lanes_ok = 1;
        }
        int64_t rounds = n / FI_SIMD_LANES;
        kt->pcg_draws(&wk->lanes, rounds, out);   /* little-endian (x86-64, aarch64): words in order */
        done = rounds * FI_SIMD_LANES;
        wk->lanes_pos = d + (uint64_t)done;
        wk->cur.sigma = fi_u128_make(wk->lanes.hi[0], wk->lanes.lo[0]);
        wk->cur.pos = wk->lanes_pos;
    } else {
        fi_pcg_cursor_seek(&wk->cur, d);
    }
    if (done < n) {
        if (words) fi_pcg_cursor_words(&wk->cur, (uint32_t *)out + 2 * done, n - done);
        else fi_pcg_cursor_draws(&wk->cur, (uint64_t *)out + done, n - done);
    }
}

/* 32-bit words j0 .. j0+n-1 of the element word stream (word 0 is numpy's buffered half if
 * there is one), n <= FI_CHUNK; returns where they start inside wk->w32. */
static const uint32_t *words32(fi_worker *wk, const fi_job *job, uint64_t j0, int64_t n)
{
    uint32_t *buf = wk->w32 + 2;
    int lead = 0;
    if (job->st->has_half) {
        if (j0 == 0) {
            lead = 1;
            n--;
        } else {
            j0 -= 1;
        }
    }
    if (n > 0) {
        int odd = (int)(j0 & 1u);      /* starting on the upper half of a draw */
        draws_into(wk, job->kt, j0 >> 1, (odd + n + 1) >> 1, buf, 1);
        buf += odd;
    }
    if (lead) {
        buf[-1] = job->st->half;
        return buf - 1;
    }
    return buf;
}

static const uint64_t *words64(fi_worker *wk, const fi_job *job, uint64_t j0, int64_t n)
{
    draws_into(wk, job->kt, j0, n, wk->w64, 0);
    return wk->w64;
}

/* Words for n elements with global indices g, g+gs, ...; returns the 32- or 64-bit buffer. */
static const void *gather_words(fi_worker *wk, const fi_job *job, uint64_t g, int64_t gs,
                                int64_t n)
{
    const int w32 = is_word32(job->spec->dtype);
    if (gs == 1)
        return w32 ? (const void *)words32(wk, job, g, n) : (const void *)words64(wk, job, g, n);
    if (gs > 16) {
        /* far apart: jump to each element (O(log gs) per element) rather than generate the
         * words in between */
        for (int64_t i = 0; i < n; i++) {
            uint64_t j = g + (uint64_t)(i * gs);
            if (w32) wk->g32[i] = words32(wk, job, j, 1)[0];
            else wk->g64[i] = words64(wk, job, j, 1)[0];
        }
        return w32 ? (const void *)wk->g32 : (const void *)wk->g64;
    }
    /* strided in the global index: generate covering windows and pick */
    int64_t i = 0;
    while (i < n) {
        int64_t span_left = (n - 1 - i) * gs + 1;
        int64_t win = span_left < FI_CHUNK ? span_left : FI_CHUNK;
        uint64_t start = g + (uint64_t)(i * gs);
        if (w32) {
            const uint32_t *src = words32(wk, job, start, win);
            for (int64_t o = 0; o < win && i < n; o += gs) wk->g32[i++] = src[o];
        } else {
            const uint64_t *src = words64(wk, job, start, win);
            for (int64_t o = 0; o < win && i < n; o += gs) wk->g64[i++] = src[o];
        }
    }
    return w32 ? (const void *)wk->g32 : (const void *)wk->g64;
}

/* Values for n <= FI_CHUNK elements of a run; writes through `ptr` with byte stride os. */
static void run_chunk(fi_worker *wk, const fi_job *job, uint64_t g, int64_t gs, int64_t n,
                      char *ptr, int64_t os)
{
    const fi_spec *sp = job->spec;
    const fi_kernel_table *kt = job->kt;
    const int64_t isz = itemsize(sp->dtype);
    const int contig = os == isz;
    /* values go straight to out, or through a buffer in L1 that is then stored out */
    const int direct = contig && !job->stream;
    const void *words = gather_words(wk, job, g, gs, n);
    const void *vals;
    if (sp->dtype == FI_F64) {
        double *dst = direct ? (double *)ptr : wk->vd;
        if (sp->sampler == FI_UNIFORM) kt->uniform_d(words, n, &job->pd, dst);
        else kt->normal_d(words, n, &job->pd, dst);
        vals = dst;
    } else if (sp->dtype == FI_F32) {
        float *dst = direct ? (float *)ptr : wk->vf;
        if (sp->sampler == FI_UNIFORM) kt->uniform_f(words, n, &job->pf, dst);
        else kt->normal_f(words, n, &job->pf, dst);
        vals = dst;
    } else {
        uint16_t *dst = direct ? (uint16_t *)ptr : wk->vh;
        const int u = sp->sampler == FI_UNIFORM, h = sp->dtype == FI_F16;
        if (u) (h ? kt->uniform_f16 : kt->uniform_bf16)(words, n, &job->pf, dst);
        else (h ? kt->normal_f16 : kt->normal_bf16)(words, n, &job->pf, dst);
        vals = dst;
    }
    if (direct) return;
    if (contig) {
        kt->stream_copy(ptr, vals, n * isz);
        return;
    }
    for (int64_t i = 0; i < n; i++) memcpy(ptr + i * os, (const char *)vals + i * isz, (size_t)isz);
}

/* Maps the pages of [from, to) (one thread's share of a contiguous out) for writing, in steps
 * that keep ahead of the fill: a page fault per 4 KiB page costs more than the kernel's zeroing
 * of it, and MADV_POPULATE_WRITE maps a whole range in one call without changing any byte
 * (4 GiB of first-touch writes on 2 cores: 1.25-1.7 s -> about 0.75 s). */
typedef struct {
    char *next, *end;
} fi_populate;

static void populate_init(fi_populate *pp, char *from, char *to)
{
#if defined(__linux__)
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0) ps = 4096;
    pp->next = (char *)((uintptr_t)from & ~(uintptr_t)(ps - 1));
    pp->end = to;
#else
    pp->next = pp->end = from;
    (void)to;
#endif
}

/* Maps at least up to `upto` (and a step beyond, where the share goes on). */
static void populate_ahead(fi_populate *pp, const char *upto)
{
#if defined(__linux__)
    while (pp->next < upto && pp->next < pp->end) {
        int64_t len = FI_POPULATE_STEP;
        if (pp->end - pp->next < len) len = pp->end - pp->next;
        if (madvise(pp->next, (size_t)len, MADV_POPULATE_WRITE) != 0) {
            pp->next = pp->end;     /* not available here: the writes fault the pages in */
            return;
        }
        pp->next += len;
    }
#else
    (void)pp; (void)upto;
#endif
}

/* One thread's share: C-order positions [a, b) of out. */
void fi_work_range(const fi_job *job, const fi_layout *lay, int64_t a, int64_t b)
{
    fi_worker wk;
    worker_init(&wk, job);
    fi_populate pop = {0, 0};
    if (job->populate) {
        const int64_t isz = itemsize(job->spec->dtype);
        populate_init(&pop, lay->data + a * isz, lay->data + b * isz);
    }
    const int w32 = is_word32(job->spec->dtype);
    const int last = lay->ndim - 1;
    const int64_t L = lay->shape[last];
    const int64_t gs = lay->gstep[last];
    const int64_t os = lay->ostride[last];
    int64_t e = a;
    while (e < b) {
        int64_t row = e / L, col = e % L;
        int64_t g = lay->gstart, off = 0;
        for (int k = last - 1; k >= 0; k--) {
            int64_t ik = row % lay->shape[k];
            row /= lay->shape[k];
            g += ik * lay->gstep[k];
            off += ik * lay->ostride[k];
        }
        int64_t seg = L - col < b - e ? L - col : b - e;
        g += col * gs;
        char *ptr = lay->data + off + col * os;
        for (int64_t i = 0; i < seg;) {
            int64_t len = FI_CHUNK;
            /* end the first chunk where a draw ends, so that later chunks start on a whole
             * draw and the generator lanes run on without restarting */
            if (i == 0 && w32 && gs == 1) len -= (int64_t)((uint64_t)(g - job->st->has_half) & 1u);
            int64_t n = seg - i < len ? seg - i : len;
            if (job->populate) populate_ahead(&pop, ptr + (i + n) * os);
            run_chunk(&wk, job, (uint64_t)(g + i * gs), gs, n, ptr + i * os, os);
            i += n;
        }
        e += seg;
    }
#if defined(__SSE2__)
    if (job->stream) _mm_sfence();    /* the stores above are weakly ordered */
#endif
}

static float to_f(double x) { return (float)x; }

#ifdef FI_FORK_GUARD
typedef struct {
    void (*fn)(void *arg, int t, int nt);
    void *arg;
    int t, nt;
    pthread_t tid;
    int started;
} fi_share;

static void *share_main(void *p)
{
    const fi_share *s = (const fi_share *)p;
    s->fn(s->arg, s->t, s->nt);
    return NULL;
}
#endif

/* An OpenMP region's shares on POSIX threads started for the call; a share whose thread
 * cannot be started is done by the caller, as is share 0. */
void fi_run_posix_threads(int nt, void (*fn)(void *arg, int t, int nt), void *arg)
{
#ifdef FI_FORK_GUARD
    fi_share *sh = (fi_share *)calloc((size_t)nt, sizeof *sh);
    if (sh) {
        for (int t = 0; t < nt; t++) {
            sh[t] = (fi_share){fn, arg, t, nt, 0, 0};
            if (t > 0) sh[t].started = pthread_create(&sh[t].tid, NULL, share_main, &sh[t]) == 0;
        }
        fn(arg, 0, nt);
        for (int t = 1; t < nt; t++) {
            if (sh[t].started) pthread_join(sh[t].tid, NULL);
            else fn(arg, t, nt);
        }
        free(sh);
        return;
    }
#endif
    for (int t = 0; t < nt; t++) fn(arg, t, nt);
}

typedef struct {
    const fi_job *job;
    const fi_layout *lay;
    int64_t e_begin, total;
} fi_fill_share;

/* Share t of nt of a single fill: the same split as the OpenMP region's. */
static void fill_share(void *p, int t, int nt)
{
    const fi_fill_share *s = (const fi_fill_share *)p;
    fi_work_range(s->job, s->lay, s->e_begin + s->total * t / nt,
                  s->e_begin + s->total * (t + 1) / nt);
}

/* 0 if the page holding p is known not to be in memory yet (mapped, never touched). */
static int page_resident(const char *p)
{
#if defined(__linux__)
    long ps = sysconf(_SC_PAGESIZE);
    unsigned char v = 1;
    if (ps > 0 && mincore((void *)((uintptr_t)p & ~(uintptr_t)(ps - 1)), (size_t)ps, &v) == 0)
        return v & 1;
#else
    (void)p;
#endif
    return 1;
}

/* Whether the memory this call writes has been touched before: first, middle and last element
 * of a 1-D run, else the first element. */
static int out_resident(const fi_layout *lay, int64_t a, int64_t b)
{
    if (lay->ndim != 1) return page_resident(lay->data);
    const int64_t at[3] = {a, a + (b - a) / 2, b - 1};
    for (int k = 0; k < 3; k++)
        if (!page_resident(lay->data + at[k] * lay->ostride[0])) return 0;
    return 1;
}

int fi_job_check(const fi_spec *spec, const fi_stream *st, const fi_layout *lay)
{
    if (!spec || !st || !lay || lay->ndim < 1 || lay->ndim > FI_MAXDIM) return -1;
    if (spec->dtype < FI_F32 || spec->dtype > FI_BF16) return -1;
    if (spec->sampler != FI_UNIFORM && spec->sampler != FI_NORMAL) return -1;
    return 0;
}

void fi_job_init(fi_job *job, const fi_spec *spec, const fi_stream *st, const fi_layout *lay,
                 int64_t e_begin, int64_t e_end)
{
    job->spec = spec;
    job->st = st;
    job->kt = fi_kernels();
    job->pd = (fi_params_d){spec->low, spec->range, spec->scale, spec->lo, spec->hi, spec->mean, spec->std,
                            spec->pa, spec->qb, spec->d, spec->cq, spec->cmax, spec->log_off};
    job->pf = (fi_params_f){to_f(spec->low), to_f(spec->range), to_f(spec->scale), to_f(spec->lo), to_f(spec->hi),
                            to_f(spec->mean), to_f(spec->std), to_f(spec->pa), to_f(spec->qb),
                            to_f(spec->d), to_f(spec->cq), to_f(spec->cmax), to_f(spec->log_off)};
    /* Outputs much larger than a core's cache are stored past the caches: it saves reading
     * every destination line before it is overwritten (1.3-1.9x on uniform fills), and a
     * tensor this size would not stay cached anyway. Not on fresh pages, though: the kernel
     * zeroes each one through the cache as it is first touched, and stores that bypass the
     * cache then cost more than plain ones (4 GiB of first-touch fills: 2.7 s vs 2.0 s). */
    int64_t out_elems = 1;
    for (int k = 0; k < lay->ndim; k++) out_elems *= lay->shape[k];
    const int64_t out_bytes = out_elems * itemsize(spec->dtype);
    const int resident = out_bytes >= FI_POPULATE_BYTES ? out_resident(lay, e_begin, e_end) : 1;
    job->stream = out_bytes >= FI_STREAM_BYTES && resident;
    job->populate = !resident && lay->ndim == 1 && lay->ostride[0] == itemsize(spec->dtype);
}

int fi_fill(const fi_spec *spec, const fi_stream *st, const fi_layout *lay,
            int64_t e_begin, int64_t e_end, int nthreads)
{
    if (fi_job_check(spec, st, lay) != 0) return -1;
    if (e_end <= e_begin) return 0;
    fi_job job;
    fi_job_init(&job, spec, st, lay, e_begin, e_end);
    int64_t total = e_end - e_begin;
    /* Below this many elements a second thread costs more than it saves. */
    const int64_t min_per_thread = 1 << 15;
    int64_t maxt = total / min_per_thread;
    int nt = nthreads < 1 ? 1 : nthreads;
    if (maxt < nt) nt = maxt < 1 ? 1 : (int)maxt;
    if (nt == 1) {
        fi_work_range(&job, lay, e_begin, e_end);
        return 0;
    }
    if (fi_forked_child()) {
        fi_fill_share share = {&job, lay, e_begin, total};
        fi_run_posix_threads(nt, fill_share, &share);
        return 0;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        int64_t a = e_begin + total * t / n, b = e_begin + total * (t + 1) / n;
        fi_work_range(&job, lay, a, b);
    }
#else
    fi_work_range(&job, lay, e_begin, e_end);
#endif
    return 0;
}

void fi_stream_after(const fi_stream *st, int word32, uint64_t nwords, fi_stream *after)
{
    fi_u128 s = fi_u128_make(st->state_hi, st->state_lo);
    fi_u128 inc = fi_u128_make(st->inc_hi, st->inc_lo);
    *after = *st;
    uint64_t ndraws;
    if (!word32) {
        ndraws = nwords;          /* next_uint64 leaves the buffered half alone */
    } else {
        uint64_t fresh = nwords;
        if (st->has_half && nwords > 0) fresh = nwords - 1;
        if (st->has_half && nwords == 0) return;
        ndraws = (fresh + 1) / 2;
        after->has_half = (int)(fresh & 1u);
        /* numpy keeps the last upper half in `uinteger` even once it has been handed out */
        if (ndraws > 0)
            after->half = (uint32_t)(fi_pcg_output(fi_pcg_advance(s, inc, ndraws)) >> 32);
    }
    s = fi_pcg_advance(s, inc, ndraws);
    after->state_hi = fi_u128_hi(s);
    after->state_lo = fi_u128_lo(s);
}
