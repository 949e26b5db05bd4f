# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin bridge to the C engine: packs arguments into C structs, releases the GIL, and checks
for Ctrl-C between slices of a long fill. Validation lives in the Python layer."""

from libc.stdint cimport int64_t, uint64_t, uint32_t
from libc.stdlib cimport malloc, free
from cpython.exc cimport PyErr_CheckSignals
cimport numpy as cnp
import time

cnp.import_array()

cdef extern from "fill.h" nogil:
    enum: FI_MAXDIM
    ctypedef struct fi_stream:
        uint64_t state_hi, state_lo, inc_hi, inc_lo
        int has_half
        uint32_t half
    ctypedef struct fi_layout:
        int ndim
        int64_t shape[64]
        int64_t gstep[64]
        int64_t ostride[64]
        int64_t gstart
        char *data
    ctypedef struct fi_spec:
        int sampler, dtype
        double low, range, scale, lo, hi
        double mean, std, pa, qb, d, cq, cmax, log_off
    ctypedef struct fi_item:
        fi_spec spec
        fi_stream st
        fi_layout lay
        int64_t n
    void fi_layout_coalesce(fi_layout *lay)
    int fi_fill_many(const fi_item *items, int64_t nitems, int64_t c_begin, int64_t c_end,
                     int nthreads)
    int fi_store_fill(char *dst, int64_t nbytes, uint64_t pattern, int nthreads,
                      int nontemporal)
    int fi_fill(const fi_spec *spec, const fi_stream *st, const fi_layout *lay,
                int64_t e_begin, int64_t e_end, int nthreads)
    void fi_stream_after(const fi_stream *st, int word32, uint64_t nwords, fi_stream *after)
    enum: FI_ISA_COUNT
    const char *const fi_isa_names[]
    const char *fi_isa_current()
    int fi_isa_supported(const char *name)
    int fi_isa_select(const char *name)
    const char *fi_isa_best()
    int fi_openmp_enabled()
    int fi_openmp_version()
    int fi_forked_child()

cdef extern from *:
    """
    #ifndef FI_BUILD_COMPILER
    #define FI_BUILD_COMPILER "unknown"
    #endif
    """
    const char *FI_BUILD_COMPILER

MAXDIM = FI_MAXDIM
# Target duration of one uninterruptible slice of a fill.
_SLICE_SECONDS = 0.04
_clock = time.perf_counter
_M64 = (1 << 64) - 1

cdef void _set_stream(fi_stream *st, tuple s):
    state, inc, has_half, half = s
    st.state_hi = (state >> 64) & _M64
    st.state_lo = state & _M64
    st.inc_hi = (inc >> 64) & _M64
    st.inc_lo = inc & _M64
    st.has_half = 1 if has_half else 0
    st.half = half & 0xffffffff


cdef int64_t _set_layout(fi_layout *lay, cnp.ndarray arr, tuple gsteps, int64_t gstart) except -1:
    """Describe `arr` as a block of its global tensor; returns its element count."""
    cdef int64_t total = 1, acc = 1
    cdef int k
    cdef int nd = cnp.PyArray_NDIM(arr)
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(arr)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(arr)
    if nd > FI_MAXDIM:
        raise ValueError(f"at most {FI_MAXDIM} dimensions are supported")
    lay.ndim = nd
    for k in range(nd - 1, -1, -1):
        lay.shape[k] = dims[k]
        lay.ostride[k] = strides[k]
        if gsteps is None:
            lay.gstep[k] = acc
            acc *= dims[k] if dims[k] > 0 else 1
        else:
            lay.gstep[k] = gsteps[k]
        total *= dims[k]
    lay.gstart = gstart
    lay.data = <char *>cnp.PyArray_DATA(arr)
    if nd == 0:
        lay.ndim = 1
        lay.shape[0] = 1
        lay.gstep[0] = 1
        lay.ostride[0] = 0
    fi_layout_coalesce(lay)
    return total


cdef void _set_spec(fi_spec *spec, int sampler, int dtype, tuple params):
    spec.sampler = sampler
    spec.dtype = dtype
    (spec.low, spec.range, spec.scale, spec.lo, spec.hi, spec.mean, spec.std, spec.pa, spec.qb,
     spec.d, spec.cq, spec.cmax, spec.log_off) = params


cdef int64_t _cost(const fi_layout *lay):
    """Relative time per element of a layout (1: a contiguous run): short rows and elements
    far apart in the stream cost much more per element."""
    cdef int64_t row = lay.shape[lay.ndim - 1]
    if lay.gstep[lay.ndim - 1] > 1:
        return 512
    if row < 1024:
        return (1024 + row - 1) // row
    return 1


def fill(int sampler, int dtype, tuple params, tuple stream, cnp.ndarray arr, tuple gsteps,
         int64_t gstart, int nthreads, int64_t slice_elems):
    """Fill `arr`, the block of the global tensor whose element (i_0, ...) has global flat
    index gstart + sum i_k gsteps[k] (gsteps None: arr is the whole C-ordered tensor).

    params = (low, range, scale, lo, hi, mean, std, pa, qb, d, cq, cmax, log_off);
    stream = (state, inc, has_half, half) as numpy's PCG64 state holds them.
    """
    cdef fi_spec spec
    cdef fi_stream st
    cdef fi_layout lay
    cdef int64_t total, e, e_end
    cdef int rc = 0
    _set_spec(&spec, sampler, dtype, params)
    _set_stream(&st, stream)
    total = _set_layout(&lay, arr, gsteps, gstart)
    # Ctrl-C is checked between slices, each meant to take tens of milliseconds. The first
    # slice is sized by the memory and stream work per element: contiguous runs are cheap,
    # scattered stores (a transposed or strided out) touch a cache line per element (and a
    # page when far apart), elements far apart in the stream need their own jumps, short rows
    # restart often. Each next slice is scaled by the time the last one took towards
    # _SLICE_SECONDS when it took less, or over 2.5 times as long (page faults, a loaded
    # machine), at most 2x up or 4x down per step, never beyond slice_elems. Slicing never
    # changes the values.
    cdef int64_t floor_elems = (<int64_t>1 << 15) * (nthreads if nthreads > 0 else 1)
    cdef int64_t isz = 8 if dtype == 1 else (4 if dtype == 0 else 2)
    cdef int64_t row = lay.shape[lay.ndim - 1]
    cdef int64_t ostep = lay.ostride[lay.ndim - 1]
    cdef int64_t max_step = slice_elems     # the estimate, before any timing
    cdef double t0, dt, ratio
    if lay.gstep[lay.ndim - 1] > 1:
        max_step = slice_elems >> 9
    elif row < 1024:
        max_step = slice_elems * row // 1024
    if ostep != isz and ostep != 0:
        max_step = max_step * isz // (64 if -4096 < ostep < 4096 else 256)
    # the first slice is a fraction of the estimate: a quarter for a contiguous fill (its
    # cost per element is known well enough), a sixteenth for the others
    cdef int64_t step = max(max_step >> (2 if max_step == slice_elems else 4), floor_elems)
    e = 0
    while e < total:
        e_end = e + step if total - e > step else total
        t0 = _clock()
        with nogil:
            rc = fi_fill(&spec, &st, &lay, e, e_end, nthreads)
        if rc != 0:
            raise ValueError("invalid arguments for the fill engine")
        dt = _clock() - t0
        e = e_end
        if e < total:
            PyErr_CheckSignals()
            ratio = _SLICE_SECONDS / dt if dt > 0 else 4.0
            if ratio < 0.4 or ratio > 1.0:
                # shrink only when well over the target: a fixed cost per call (thread
                # wake-up on a busy machine) must not split a fill ever finer
                ratio = min(max(ratio, 0.25), 2.0)
                step = min(max(<int64_t>(step * ratio), floor_elems), slice_elems)


def fill_many(list items, int nthreads, int64_t slice_elems):
    """Fill many outputs in one parallel region per slice.

    items: tuples (sampler, dtype, params, stream, arr, gsteps, gstart) as `fill` takes them.
    Slices of about `slice_elems` contiguous-element equivalents run between Ctrl-C checks.
    """
    cdef int64_t n = len(items), k, total = 0, c, c_end, budget, take, left, pos
    cdef int rc = 0
    cdef fi_item *its = NULL
    cdef int64_t *cost = NULL
    if n == 0:
        return
    its = <fi_item *>malloc(sizeof(fi_item) * n)
    cost = <int64_t *>malloc(sizeof(int64_t) * n)
    if its == NULL or cost == NULL:
        free(its)
        free(cost)
        raise MemoryError()
    cdef int64_t floor_elems = (<int64_t>1 << 15) * (nthreads if nthreads > 0 else 1)
    try:
        for k in range(n):
            sampler, dtype, params, stream, arr, gsteps, gstart = items[k]
            _set_spec(&its[k].spec, sampler, dtype, params)
            _set_stream(&its[k].st, stream)
            its[k].n = _set_layout(&its[k].lay, arr, gsteps, gstart)
            cost[k] = _cost(&its[k].lay)
            total += its[k].n
        # slices end where the summed cost of their elements reaches slice_elems
        c = 0
        k = 0
        pos = 0          # first position of item k
        while c < total:
            budget = max(slice_elems, floor_elems)
            c_end = c
            while k < n and budget > 0:
                left = pos + its[k].n - c_end
                take = min(left, max(budget // cost[k], 1))
                c_end += take
                budget -= take * cost[k]
                if take == left:
                    pos += its[k].n
                    k += 1
            with nogil:
                rc = fi_fill_many(its, n, c, c_end, nthreads)
            if rc == -2:
                raise MemoryError()
            if rc != 0:
                raise ValueError("invalid arguments for the fill engine")
            c = c_end
            if c < total:
                PyErr_CheckSignals()
    finally:
        free(its)
        free(cost)


def store_fill(cnp.ndarray arr, uint64_t pattern, int nthreads, bint nontemporal):
    """Store the 64-bit `pattern` over the bytes of the contiguous `arr` (a bandwidth
    yardstick): plain stores, or the engine's streaming stores."""
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError("store_fill needs a C-contiguous array")
    cdef char *dst = <char *>cnp.PyArray_DATA(arr)
    cdef int64_t n = cnp.PyArray_NBYTES(arr)
    with nogil:
        fi_store_fill(dst, n, pattern, nthreads, nontemporal)


def stream_after(tuple stream, bint word32, uint64_t nwords):
    """numpy's PCG64 state after `nwords` 32-bit words (word32) or 64-bit draws."""
    cdef fi_stream st, after
    _set_stream(&st, stream)
    fi_stream_after(&st, word32, nwords, &after)
    cdef object hi = after.state_hi
    return ((hi << 64) | after.state_lo, stream[1], after.has_half, after.half)


def isa_names():
    """Every kernel instance name the engine knows (``fi_isa_names``), on any architecture."""
    return tuple(fi_isa_names[k].decode() for k in range(FI_ISA_COUNT))


def isa_current():
    return fi_isa_current().decode()


def isa_best():
    return fi_isa_best().decode()


def isa_supported(str name):
    return bool(fi_isa_supported(name.encode()))


def isa_select(str name):
    return fi_isa_select(name.encode())


def openmp_enabled():
    return bool(fi_openmp_enabled())


def openmp_version():
    return fi_openmp_version()


def forked_child():
    return bool(fi_forked_child())


def build_compiler():
    return FI_BUILD_COMPILER.decode()
