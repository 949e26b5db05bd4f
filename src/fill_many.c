/* Batched fill: many outputs, each with its own stream, sampler, dtype and layout, in one
 * parallel region. The outputs' elements are cut into blocks of at most FI_MANY_BLOCK, and
 * the threads take blocks from one list across all outputs, so that a model of hundreds of
 * tensors keeps every thread busy to the end instead of starting and draining a parallel
 * region per tensor. A block's values depend only on its elements' global indexes, so the
 * result is that of filling each output on its own. */
#include <stdlib.h>
#include "fill.h"
#include "fill_job.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Elements per block: 256 KiB of float32, one page-mapping step; enough to pay for a block's
 * start (a stream jump and the lane set-up, well under a microsecond). */
#define FI_MANY_BLOCK ((int64_t)1 << 16)
/* Below this many elements per thread a second thread costs more than it saves (as fi_fill). */
#define FI_MANY_MIN_PER_THREAD ((int64_t)1 << 15)

typedef struct {
    int64_t item, a, b;
} fi_block;

typedef struct {
    const fi_item *items;
    const fi_job *jobs;
    const fi_block *blocks;
    int64_t first, nb;
} fi_many_share;

static void run_block(const fi_many_share *s, int64_t i)
{
    const fi_block *bl = &s->blocks[i];
    fi_work_range(&s->jobs[bl->item - s->first], &s->items[bl->item].lay, bl->a, bl->b);
}

/* Share t of nt in a forked child (no OpenMP): every nt-th block, which balances as well as
 * the blocks' sizes do. */
static void many_share(void *p, int t, int nt)
{
    const fi_many_share *s = (const fi_many_share *)p;
    for (int64_t i = t; i < s->nb; i += nt) run_block(s, i);
}

int fi_fill_many(const fi_item *items, int64_t nitems, int64_t c_begin, int64_t c_end,
                 int nthreads)
{
    if (nitems < 0 || (nitems > 0 && !items)) return -1;
    for (int64_t k = 0; k < nitems; k++) {
        if (fi_job_check(&items[k].spec, &items[k].st, &items[k].lay) != 0 || items[k].n < 0)
            return -1;
    }
    if (c_end <= c_begin) return 0;
    /* the items that [c_begin, c_end) overlaps, and the blocks of each */
    int64_t first = -1, last = -1, pos = 0, nblocks = 0;
    for (int64_t k = 0; k < nitems && pos < c_end; k++) {
        int64_t s = pos, e = pos + items[k].n;
        pos = e;
        if (e <= c_begin || s == e) continue;
        if (first < 0) first = k;
        last = k;
        int64_t a = (c_begin > s ? c_begin : s) - s, b = (c_end < e ? c_end : e) - s;
        nblocks += b / FI_MANY_BLOCK - a / FI_MANY_BLOCK + (b % FI_MANY_BLOCK != 0);
    }
    if (first < 0) return 0;
    fi_job *jobs = malloc(sizeof(fi_job) * (size_t)(last - first + 1));
    fi_block *blocks = malloc(sizeof(fi_block) * (size_t)nblocks);
    if (!jobs || !blocks) {
        free(jobs);
        free(blocks);
        return -2;
    }
    int64_t nb = 0;
    pos = 0;
    for (int64_t k = 0; k <= last; k++) {
        int64_t s = pos, e = pos + items[k].n;
        pos = e;
        if (k < first || s == e || e <= c_begin) continue;
        int64_t a = (c_begin > s ? c_begin : s) - s, b = (c_end < e ? c_end : e) - s;
        fi_job_init(&jobs[k - first], &items[k].spec, &items[k].st, &items[k].lay, a, b);
        /* block edges at multiples of FI_MANY_BLOCK of the item's positions, so that slices
         * of one batch cut the same blocks */
        while (a < b) {
            int64_t edge = (a / FI_MANY_BLOCK + 1) * FI_MANY_BLOCK;
            int64_t end = edge < b ? edge : b;
            blocks[nb].item = k;
            blocks[nb].a = a;
            blocks[nb].b = end;
            nb++;
            a = end;
        }
    }
    int64_t total = c_end - c_begin;
    if (pos < c_end) total = pos - c_begin;
    int64_t maxt = total / FI_MANY_MIN_PER_THREAD;
    int nt = nthreads < 1 ? 1 : nthreads;
    if (maxt < nt) nt = maxt < 1 ? 1 : (int)maxt;
    if (nb < nt) nt = (int)nb;
    fi_many_share share = {items, jobs, blocks, first, nb};
    if (nt > 1 && fi_forked_child()) {
        fi_run_posix_threads(nt, many_share, &share);
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
#endif
        for (int64_t i = 0; i < nb; i++) run_block(&share, i);
    }
    free(blocks);
    free(jobs);
    return 0;
}
