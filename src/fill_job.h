/* Engine internals shared by the single fill (fill.c) and the batched fill (fill_many.c). */
#ifndef FASTINIT_FILL_JOB_H
#define FASTINIT_FILL_JOB_H

#include "fill.h"
#include "dispatch.h"

/* One output's fill, prepared once per engine call. */
typedef struct {
    const fi_spec *spec;
    const fi_stream *st;
    const fi_kernel_table *kt;
    fi_params_f pf;
    fi_params_d pd;
    int stream;                /* store contiguous runs past the caches */
    int populate;              /* map the (fresh) pages of a contiguous out ahead of the writes */
} fi_job;

/* 0 when spec, stream and layout are acceptable, else -1. */
int fi_job_check(const fi_spec *spec, const fi_stream *st, const fi_layout *lay);
/* Prepares a fill of C-order positions [e_begin, e_end) of `lay` (the store decisions look at
 * that range's memory). */
void fi_job_init(fi_job *job, const fi_spec *spec, const fi_stream *st, const fi_layout *lay,
                 int64_t e_begin, int64_t e_end);
/* Fills C-order positions [a, b) of `lay` on the calling thread. */
void fi_work_range(const fi_job *job, const fi_layout *lay, int64_t a, int64_t b);

/* Calls fn(arg, t, nt) for t = 0 .. nt-1, each on its own POSIX thread where they exist:
 * what every parallel region of the engine runs instead of OpenMP in a forked child
 * (fi_forked_child), whose copy of the OpenMP pool is unusable. */
void fi_run_posix_threads(int nt, void (*fn)(void *arg, int t, int nt), void *arg);

#endif
