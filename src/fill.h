/* Block-parallel fill driver: the public C entry point of the engine (no Python here). */
#ifndef FASTINIT_FILL_H
#define FASTINIT_FILL_H

#include <stdint.h>

#define FI_MAXDIM 64

enum fi_sampler { FI_UNIFORM = 0, FI_NORMAL = 1 };
enum fi_dtype { FI_F32 = 0, FI_F64 = 1, FI_F16 = 2, FI_BF16 = 3 };

/* numpy's PCG64 state: 128-bit state and increment, and the buffered upper half of a draw
 * that next_uint32 hands out before drawing again. */
typedef struct {
    uint64_t state_hi, state_lo, inc_hi, inc_lo;
    int has_half;
    uint32_t half;
} fi_stream;

/* `out` as a block of a virtual C-ordered global tensor: element (i_0, ..., i_{n-1}) of `out`
 * lives at data + sum i_k ostride[k] and has global flat index gstart + sum i_k gstep[k]. */
typedef struct {
    int ndim;
    int64_t shape[FI_MAXDIM];
    int64_t gstep[FI_MAXDIM];     /* > 0 */
    int64_t ostride[FI_MAXDIM];   /* bytes, any sign */
    int64_t gstart;
    char *data;
} fi_layout;

/* Sampler parameters in double; the driver converts them to the compute type.
 * uniform: low, range (= high - low), scale (1, or 2 when float32(high - low) overflows and
 *          low and range are halved), lo, hi (representable clamp bounds)
 * normal:  mean, std, lo, hi, pa, qb, d, cq, cmax, log_off (see kernel_body.h) */
typedef struct {
    int sampler;
    int dtype;
    double low, range, scale, lo, hi;
    double mean, std, pa, qb, d, cq, cmax, log_off;
} fi_spec;

/* Merges axes that are contiguous both in the global index and in memory (keeps values). */
void fi_layout_coalesce(fi_layout *lay);

/* Fills the elements with C-order positions [e_begin, e_end) of `out` (positions count
 * elements of `out`, not of the global tensor) using up to `nthreads` threads.
 * Returns 0, or -1 if an argument is invalid. */
int fi_fill(const fi_spec *spec, const fi_stream *st, const fi_layout *lay,
            int64_t e_begin, int64_t e_end, int nthreads);

/* One output of a batched fill: `lay` (coalesced) has n elements, all filled. */
typedef struct {
    fi_spec spec;
    fi_stream st;
    fi_layout lay;
    int64_t n;
} fi_item;

/* Fills positions [c_begin, c_end) of the concatenation of the items' C-order positions
 * (item 0's n positions, then item 1's, ...) in one parallel region of up to `nthreads`
 * threads; each output gets the values fi_fill would give it. Returns 0, -1 if an item is
 * invalid (nothing written), -2 if out of memory (nothing written). */
int fi_fill_many(const fi_item *items, int64_t nitems, int64_t c_begin, int64_t c_end,
                 int nthreads);

/* Stores `nbytes` of the repeated 64-bit `pattern` at dst with up to `nthreads` threads:
 * plain stores, or (nontemporal) the streaming stores fills use for large outputs. A
 * bandwidth yardstick. Returns 0, or -1 for invalid arguments. */
int fi_store_fill(char *dst, int64_t nbytes, uint64_t pattern, int nthreads, int nontemporal);

/* numpy's stream state after `nwords` words (32-bit, in next_uint32 order) or draws
 * (64-bit) have been consumed from `st`. */
void fi_stream_after(const fi_stream *st, int word32, uint64_t nwords, fi_stream *after);

/* ISA selection: the kernel instances by name: "base", then the x86 paths ("avx2", "avx512",
 * "avx512ifma") and the Arm paths ("neon", "sve"), each architecture's slowest first. A build
 * or CPU has "base" and may have some of its own architecture's paths, never the other's. */
#define FI_ISA_COUNT 6
extern const char *const fi_isa_names[FI_ISA_COUNT];
const char *fi_isa_current(void);
int fi_isa_supported(const char *name);
int fi_isa_select(const char *name);    /* 0 on success, -1 unknown, -2 unsupported */
/* "auto": the best this CPU supports. */
const char *fi_isa_best(void);

int fi_openmp_enabled(void);
/* The _OPENMP date (e.g. 201511 for OpenMP 4.5) the engine was built with, 0 without OpenMP. */
int fi_openmp_version(void);
/* 1 in a process forked after the engine was loaded: fills there run on POSIX threads. */
int fi_forked_child(void);

#endif
