"""Where each element of `out` sits in the global stream: shape/out/global_shape/index."""

import math
import mmap
import operator

import numpy as np

from . import _dtypes


def as_shape(shape, name):
    """A tuple of non-negative ints from an int or a sequence; errors name the parameter."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    try:
        dims = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in dims):
        raise ValueError(f"{name} must not contain negative sizes, got {dims}")
    return dims


def as_writable_array(out):
    """A numpy view of `out` that shares its memory (never a copy)."""
    if isinstance(out, np.ndarray):
        arr = out
    else:
        try:
            mv = memoryview(out)
        except TypeError:
            raise TypeError(f"out must be a numpy array or a writable buffer, got "
                            f"{type(out).__name__}") from None
        if mv.readonly:
            raise ValueError("out is read-only")
        arr = np.asarray(mv)
    if not arr.flags.writeable:
        raise ValueError("out is read-only (flags.writeable is False)")
    if self_overlapping(arr):
        raise ValueError("out has elements that share memory (a broadcast or zero-stride "
                         "view, or strides shorter than the items): the result would depend "
                         "on the order of the writes. Pass an array whose elements are "
                         "distinct, e.g. a copy")
    return arr


# Layouts that fail the quick test are checked exactly up to this many elements.
_EXACT_OVERLAP_MAX = 1 << 20


def self_overlapping(arr):
    """Whether two elements of `arr` share a byte.

    Quick test: with the axes sorted by |stride|, each |stride| must reach past everything
    the smaller axes span (the nested layout of every C/F array, and of every view numpy's
    slicing, transposing, reversing and reshaping makes of one). Layouts that fail it
    (interleaved strides made with as_strided) are checked element by element when small,
    and counted as overlapping otherwise.
    """
    if arr.size <= 1:
        return False
    isz = arr.itemsize
    axes = sorted((abs(st), n) for st, n in zip(arr.strides, arr.shape) if n > 1)
    span = isz                     # bytes covered by the axes so far, from the first element
    for st, n in axes:
        if st < span:
            break
        span = st * (n - 1) + span
    else:
        return False
    if arr.size > _EXACT_OVERLAP_MAX:
        return True
    offs = np.zeros((), np.int64)
    for st, n in zip(arr.strides, arr.shape):
        offs = np.add.outer(offs, np.arange(n, dtype=np.int64) * st)
    offs = np.sort(offs, axis=None)
    return bool(np.any(np.diff(offs) < isz))


def block(shape, out_shape, global_shape, index):
    """Resolve the block: returns (block_shape, gstart, gsteps).

    Without `global_shape` the block is the whole tensor (gsteps None: C order). With it,
    `index` (a tuple of slices or ints, one per leading axis) names the block of the virtual
    global tensor.
    """
    if global_shape is None:
        if index is not None:
            raise ValueError("index= needs global_shape= (the shape of the whole tensor)")
        if shape is None and out_shape is None:
            raise TypeError("give shape or out")
        bshape = as_shape(shape, "shape") if shape is not None else tuple(out_shape)
        if shape is not None and out_shape is not None and bshape != tuple(out_shape):
            raise ValueError(f"shape {bshape} does not match out.shape {tuple(out_shape)}")
        _check_size(bshape)
        return bshape, 0, None         # the whole tensor: the engine derives C-order steps

    gshape = as_shape(global_shape, "global_shape")
    _check_size(gshape)
    if index is None:
        index = ()
    if isinstance(index, list):
        raise TypeError(f"index must be a tuple of slices and ints, got a list {index!r}")
    if not isinstance(index, tuple):
        index = (index,)
    if len(index) > len(gshape):
        raise ValueError(f"index has {len(index)} entries but global_shape has {len(gshape)} axes")
    index = index + (slice(None),) * (len(gshape) - len(index))
    cstride = c_steps(gshape)
    gstart = 0
    bshape, gsteps = [], []
    for ax, (ix, n, cs) in enumerate(zip(index, gshape, cstride)):
        if isinstance(ix, slice):
            try:
                start, stop, step = ix.indices(n)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"index[{ax}] = {ix!r}: slice bounds and step must be ints or "
                                f"None ({exc})") from None
            if step <= 0:
                raise ValueError(f"index[{ax}] must have a positive step, got {ix}")
            length = len(range(start, stop, step))
            gstart += start * cs if length else 0
            bshape.append(length)
            # a step only matters between two elements; with fewer it may be any size
            gsteps.append(step * cs if length > 1 else cs)
        elif isinstance(ix, (int, np.integer)) and not isinstance(ix, (bool, np.bool_)):
            i = int(ix)
            if i < -n or i >= n:
                raise ValueError(f"index[{ax}] = {i} is out of range for global_shape[{ax}] = {n}")
            gstart += (i % n) * cs
        else:
            raise TypeError(f"index entries must be slices or ints, got {ix!r} at index[{ax}]")
    bshape = tuple(bshape)
    if shape is not None and as_shape(shape, "shape") != bshape:
        raise ValueError(f"shape {as_shape(shape, 'shape')} does not match the block {bshape} "
                         f"that index selects")
    if out_shape is not None and tuple(out_shape) != bshape:
        raise ValueError(f"out.shape {tuple(out_shape)} does not match the block {bshape} that "
                         f"index selects")
    if math.prod(bshape) == 0:
        gstart = 0
    return bshape, gstart, tuple(gsteps)


def c_steps(shape):
    """Flat-index step of each axis of a C-ordered tensor of this shape."""
    steps, acc = [], 1
    for n in reversed(shape):
        steps.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(steps))


def _check_size(shape):
    if math.prod(shape) >= 2**63:
        raise ValueError(f"tensor of shape {shape} has 2**63 or more elements")


# Results at least this large get their own anonymous mapping with transparent huge pages:
# first-touch page faults otherwise cost more than the sampling (the fill touches the pages
# from all its threads).
HUGE_ALLOC_BYTES = 1 << 23


def allocate(shape, code):
    """An uninitialised C-ordered array for the result.

    As numpy: ValueError for a size beyond the address space, MemoryError when the memory
    cannot be had.
    """
    dtype = _dtypes.numpy_dtype(code)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes >= 2**63:
        raise ValueError(f"shape {shape} with dtype {dtype} is too big: {nbytes} bytes is "
                         f"2**63 or more")
    if nbytes < HUGE_ALLOC_BYTES or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.empty(shape, dtype=dtype)
    try:
        buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, OverflowError):
        raise MemoryError(f"Unable to allocate {nbytes} bytes for an array with shape {shape} "
                          f"and data type {dtype}") from None
    try:
        buf.madvise(mmap.MADV_HUGEPAGE)
    except OSError:
        pass          # THP disabled: ordinary pages
    return np.frombuffer(buf, dtype=dtype).reshape(shape)
