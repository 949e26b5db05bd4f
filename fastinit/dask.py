"""Dask constructors: every fastinit sampler and initializer as a lazy, chunked dask array.

``fastinit.dask.normal((100_000, 50_000), std=0.02, chunks=(10_000, 50_000), rng=0)`` is a
``dask.array.Array`` whose every chunk is computed on its own, by whichever thread, process or
machine dask hands it to, through the engine's block addressing (``global_shape=`` /
``index=``, the stream contract's "addressable blocks"). A chunk equals, bit for bit, the
same slice of ``fastinit.normal((100_000, 50_000), std=0.02, rng=0)``, whatever the chunking,
the scheduler or the number of workers. No task holds more than its own chunk (except
`orthogonal`, see below), so the array can be streamed to zarr or ``.npy`` files far larger
than memory (``x.to_zarr(...)``, `to_npy`).

Every function has the name and the parameters of its ``fastinit`` counterpart, with these
differences:

* `shape` is required; there is no `out`, `global_shape` or `index` (the array *is* the
  global tensor; dask hands each task its block).
* ``chunks=`` takes any dask chunking: ``'auto'`` (default, ``array.chunk-size`` of the dask
  config), an int, a tuple of ints (``-1``/``None`` for a whole axis), a byte size string, or
  explicit, possibly irregular, per-axis tuples such as ``((1, 5, 2), (4,))``.
* ``rng`` must be None, an int or a ``numpy.random.SeedSequence``: every task re-seeds from it
  and reads its block of the same stream. A ``numpy.random.Generator`` (or PCG64 bit
  generator) is refused with a TypeError: block fills read a Generator without advancing it,
  so the array would silently repeat whatever the Generator produces next. Derive a seed from
  it instead, e.g. ``rng=int(g.integers(2**63))``. ``rng=None`` draws fresh OS entropy
  *once*, when the array is built; all its chunks (and recomputations) share that stream.
* ``name=`` and ``seed=`` (both together, instead of `rng`) use
  ``fastinit.seed_for(seed, name)``: one stream per tensor, so adding, removing or reordering
  other tensors never changes this one.
* ``threads`` defaults to 1: dask already runs one task per worker thread. Any value gives
  the same numbers.

The parameters are checked when the array is built (one element is computed to do so), so a
bad call raises here, with the message the NumPy function gives, not later in a worker.
Task keys are deterministic: ``<function>-<hash of shape, chunks, parameters, dtype, stream
seed and fastinit version>``; the graph holds only module-level functions and plain data,
so it pickles for ``dask.distributed``.

Initializers that are not local:

* `orthogonal` needs the whole matrix for its QR decomposition: it is computed in a single
  task (the full tensor in that worker's memory) and then split into the requested chunks.
* `delta_orthogonal` computes the (out, in) orthogonal matrix in every task (small next to
  the kernel) and `sparse` computes the keys of all rows of its chunk's columns (see
  `fastinit.sparse`); both are otherwise per chunk.

dask is imported on first use; ``import fastinit`` never imports it.
"""

import functools
import inspect
import itertools
import math
import operator
import os

import numpy as np

from . import _layout, _rng, initializers as _init, samplers as _samplers
from .seeding import seed_for

_SAMPLERS = ("random", "uniform", "normal", "truncated_normal")
_INITIALIZERS = tuple(_init.__all__)
_DROPPED = ("out", "global_shape", "index")
_WHOLE = ("orthogonal",)     # computed in one task, then split

__all__ = list(_SAMPLERS + _INITIALIZERS) + ["to_npy"]


def _dask_array():
    try:
        import dask.array as da
    except ImportError:
        raise ImportError("fastinit.dask needs dask: pip install 'fastinit-weights[dask]' "
                          "(or 'dask[array]')") from None
    return da


def _base(fname):
    return getattr(_samplers if fname in _SAMPLERS else _init, fname)


# --- what runs in the tasks (module-level: pickled by reference) --------------------------

def _fill_block(spec, index):
    """One chunk: the block `index` (a tuple of slices) of the global tensor, by the engine."""
    fname, gshape, rng, threads, kwargs = spec
    return _base(fname)(None, global_shape=gshape, index=index, rng=rng, threads=threads,
                        **kwargs)


def _fill_whole(*, spec):
    """The whole tensor in one task (initializers that cannot be computed by block)."""
    fname, gshape, rng, threads, kwargs = spec
    return _base(fname)(gshape, rng=rng, threads=threads, **kwargs)


def _constant_block(value, *, spec):
    """One chunk of `constant` with an array value: `value` is that chunk of the broadcast."""
    fname, gshape, rng, threads, kwargs = spec
    return _init.constant(value.shape, value, rng=rng, threads=threads, **kwargs)


# --- argument handling --------------------------------------------------------------------

def _stream(rng, name, seed):
    """The SeedSequence every task seeds from."""
    if name is not None or seed is not None:
        if name is None or seed is None:
            raise TypeError("name= and seed= go together (the stream is "
                            "fastinit.seed_for(seed, name)); for a plain seed use rng=")
        if rng is not None:
            raise TypeError("give either rng= or name= and seed=, not both")
        return seed_for(seed, name)
    if isinstance(rng, np.random.Generator) or type(rng) is np.random.PCG64:
        raise TypeError(
            "rng must be None, an int or a numpy.random.SeedSequence for a dask array, got "
            f"{type(rng).__name__}: chunks are block fills, which read a Generator's state "
            "without advancing it, so every recomputation would repeat the same stream and "
            "the Generator would not move. Pass a seed instead, e.g. "
            "rng=int(g.integers(2**63)), or name= and seed= for per-tensor streams")
    _rng.resolve(rng)                    # TypeError / ValueError with the engine's message
    if rng is None:
        return np.random.SeedSequence()  # fresh entropy, fixed from here on
    if isinstance(rng, np.random.SeedSequence):
        return rng
    return np.random.SeedSequence(operator.index(rng))


def _normalize_chunks(chunks, shape, dtype):
    from dask.array.core import normalize_chunks
    try:
        return normalize_chunks(chunks, shape, dtype=dtype)
    except ValueError as e:
        raise ValueError(f"chunks={chunks!r} is not a valid chunking of shape {shape}: {e}") \
            from None
    except (TypeError, ZeroDivisionError, ArithmeticError) as e:
        raise ValueError(f"chunks={chunks!r} is not a valid chunking of shape {shape} (chunk "
                         f"sizes must be positive ints, -1/None for a whole axis, 'auto', a "
                         f"byte size, or per-axis tuples that add up to the shape): {e}") \
            from None


def _token(fname, shape, chunks, kwargs, seq):
    from dask.base import tokenize
    from . import __version__
    stream = (seq.entropy, tuple(seq.spawn_key), seq.pool_size)
    return tokenize("fastinit", __version__, fname, shape, chunks,
                    sorted(kwargs.items()), stream)


def _build(public, fname, args):
    da = _dask_array()
    shape = args.pop("shape")
    if shape is None:
        raise TypeError(f"{public}() needs shape (the shape of the whole dask array)")
    shape = _layout.as_shape(shape, "shape")
    chunks = args.pop("chunks")
    rng = _stream(args.pop("rng"), args.pop("name"), args.pop("seed"))
    threads = args.pop("threads")
    kwargs = args                          # the scheme's own parameters, dtype included
    fn = _base(fname)
    nd = len(shape)

    if math.prod(shape) == 0:
        # Nothing to draw: the NumPy function validates (and warns, as PyTorch does).
        empty = fn(shape, rng=rng, threads=threads, **kwargs)
        return da.from_array(empty, chunks=_normalize_chunks(chunks, shape, empty.dtype))

    # Validate every argument now, in the caller, by computing one element.
    if fname in _WHOLE:
        probe = fn((1,) * nd, rng=rng, threads=threads, **kwargs)
    else:
        probe = fn(None, global_shape=shape, index=(slice(0, 1),) * nd, rng=rng,
                   threads=threads, **kwargs)
    dtype = probe.dtype
    chunks = _normalize_chunks(chunks, shape, dtype)
    meta = np.empty((0,) * nd, dtype)
    name = f"{public}-{_token(fname, shape, chunks, kwargs, rng)}"
    spec = (fname, shape, rng, threads, kwargs)

    if fname in _WHOLE:
        whole = da.map_blocks(_fill_whole, spec=spec, chunks=tuple((n,) for n in shape),
                              dtype=dtype, meta=meta, name=name + "-whole")
        return whole.rechunk(chunks)
    if fname == "constant" and np.ndim(kwargs["value"]) > 0:
        return _constant_array(da, shape, chunks, dtype, meta, name, spec)
    return _blocks_array(da, spec, name, chunks, meta)


def _blocks_array(da, spec, name, chunks, meta):
    """One task per chunk, ``_fill_block(spec, <the chunk's slices>)``: a lazy Blockwise layer
    whose slices come from ``ArraySliceDep``, so building costs O(1) in the number of chunks
    (as ``dask.array.ones`` builds its graph)."""
    from dask.blockwise import blockwise
    from dask.layers import ArraySliceDep
    ind = tuple(range(len(chunks)))
    layer = blockwise(functools.partial(_fill_block, spec), name, ind, ArraySliceDep(chunks),
                      ind, numblocks={})
    return da.Array(layer, name, chunks, meta=meta)


def _constant_array(da, shape, chunks, dtype, meta, name, spec):
    """`constant` with an array value: each task gets its chunk of the broadcast value."""
    fname, gshape, rng, threads, kwargs = spec
    v = np.asarray(kwargs.pop("value"))
    lead = len(shape) - v.ndim
    vchunks = tuple((1,) if v.shape[k] == 1 else chunks[lead + k] for k in range(v.ndim))
    vd = da.broadcast_to(da.from_array(v, chunks=vchunks), shape, chunks=chunks)
    return da.map_blocks(_constant_block, vd, spec=(fname, gshape, rng, threads, kwargs),
                         chunks=chunks, dtype=dtype, meta=meta, name=name)


# --- the public constructors --------------------------------------------------------------

_DOC = """Dask array of ``fastinit.{fname}``: every chunk is its block of the same tensor.

    Same parameters as `fastinit.{fname}` (see its documentation for the scheme and its
    formulas), without `out`, `global_shape` and `index`, plus:

    shape : int or tuple of ints
        Shape of the whole array (required).
    chunks : dask chunks, default 'auto'
        Any chunking dask accepts, regular or irregular. Never changes the values.
    rng : None, int or numpy.random.SeedSequence
        Seeds like ``numpy.random.default_rng(rng)``. A Generator is refused (TypeError).
    name, seed : str and int/SeedSequence, optional
        Together, instead of `rng`: the stream ``fastinit.seed_for(seed, name)``.
    threads : int, default 1
        Engine threads per task.

    Returns
    -------
    dask.array.Array
        Equal bit for bit to ``fastinit.{fname}(shape, ...)`` with the same arguments,
        under any chunking and any scheduler.{note}
    """

_NOTES = {
    "orthogonal": "\n\n    The QR decomposition needs the whole matrix: it is computed in one "
                  "task, then split\n    into the chunks (that worker holds the full tensor).",
    "sparse": "\n\n    Each task also computes the keys of all rows of its columns.",
    "delta_orthogonal": "\n\n    Each task computes the small (out, in) orthogonal matrix.",
}


def _make(public):
    fn = _base(public)
    fname = fn.__name__
    sig = inspect.signature(fn)
    params = []
    for p in sig.parameters.values():
        if p.name in _DROPPED:
            continue
        if p.name == "shape":
            p = p.replace(default=inspect.Parameter.empty)
        elif p.name == "threads":
            p = p.replace(default=1)
        params.append(p)
        if p.name == "rng":
            params += [inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None),
                       inspect.Parameter("seed", inspect.Parameter.KEYWORD_ONLY, default=None)]
    params.append(inspect.Parameter("chunks", inspect.Parameter.KEYWORD_ONLY, default="auto"))
    new_sig = sig.replace(parameters=params, return_annotation=inspect.Signature.empty)

    def constructor(*args, **kwargs):
        try:
            bound = new_sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{public}(): {e}") from None
        bound.apply_defaults()
        return _build(public, fname, dict(bound.arguments))

    constructor.__name__ = constructor.__qualname__ = public
    constructor.__module__ = __name__
    constructor.__signature__ = new_sig
    constructor.__doc__ = _DOC.format(fname=public, note=_NOTES.get(fname, ""))
    return constructor


for _public in _SAMPLERS + _INITIALIZERS:
    globals()[_public] = _make(_public)
del _public


# --- storing ------------------------------------------------------------------------------

class _NpyTarget:
    """A picklable ``da.store`` target writing into the data of a .npy file.

    Only the path travels to the workers (a numpy memmap would pickle as a copy of its data),
    so it works with dask.distributed wherever the workers see the same file system. A block
    made of long contiguous runs of the file (chunks spanning the trailing axes) is written
    with ``os.pwrite``; other blocks through a memory map of the file.
    """

    _MIN_RUN = 1 << 16         # bytes: shorter runs go through the memory map

    def __init__(self, path, offset, dtype, shape):
        self.path, self.offset, self.dtype, self.shape = path, offset, dtype, shape
        self.ndim = len(shape)

    def __setitem__(self, key, value):
        runs = self._runs(key)
        value = np.asarray(value, dtype=self.dtype)
        if runs is None:
            mm = np.memmap(self.path, dtype=self.dtype, mode="r+", offset=self.offset,
                           shape=self.shape, order="C")
            try:
                mm[key] = value
            finally:
                del mm                  # unmap: the pages go to the page cache
            return
        starts, run_bytes = runs
        data = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
        fd = os.open(self.path, os.O_WRONLY)
        try:
            for k, start in enumerate(starts):
                buf = memoryview(data[k * run_bytes:(k + 1) * run_bytes])
                pos = self.offset + start
                while len(buf):
                    n = os.pwrite(fd, buf, pos)
                    buf, pos = buf[n:], pos + n
        finally:
            os.close(fd)

    def _runs(self, key):
        """(byte offsets of the block's contiguous runs, run length in bytes), or None."""
        if not isinstance(key, tuple) or len(key) != self.ndim or self.ndim == 0:
            return None
        bounds = []
        for s, n in zip(key, self.shape):
            if not isinstance(s, slice):
                return None
            start, stop, step = s.indices(n)
            if step != 1 or stop <= start:
                return None
            bounds.append((start, stop))
        j = self.ndim - 1                    # axes after j are whole
        while j > 0 and bounds[j] == (0, self.shape[j]):
            j -= 1
        inner = math.prod(self.shape[j + 1:])
        item = self.dtype.itemsize
        run_bytes = (bounds[j][1] - bounds[j][0]) * inner * item
        if run_bytes < self._MIN_RUN:
            return None
        steps = _layout.c_steps(self.shape)
        outer = [range(a, b) for a, b in bounds[:j]]
        base = bounds[j][0] * steps[j]
        starts = [(base + sum(i * st for i, st in zip(ix, steps))) * item
                  for ix in itertools.product(*outer)]
        return starts, run_bytes


def to_npy(x, path, *, compute=True, **store_kwargs):
    """Write a dask array (any dask array) to a ``.npy`` file chunk by chunk, no full copy.

    The header is written here; then ``dask.array.store`` writes each chunk straight into
    its place in the file, opened in the task (threaded scheduler, or ``dask.distributed``
    workers that share the file system): ``os.pwrite`` of its contiguous runs when they are
    at least 64 KiB long (chunks spanning the trailing axes), a memory map otherwise. Read
    it back with ``numpy.load(path, mmap_mode='r')``. bfloat16 has no .npy type code: it is stored as
    ``'<V2'``; view the loaded array with ``.view(ml_dtypes.bfloat16)``.

    Returns what ``dask.array.store`` returns (None, or a Delayed with ``compute=False``).
    """
    da = _dask_array()
    if not isinstance(x, da.Array):
        raise TypeError(f"x must be a dask.array.Array, got {type(x).__name__}")
    path = str(path)
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=x.dtype, shape=x.shape)
    offset = mm.offset
    del mm
    target = _NpyTarget(path, offset, x.dtype, tuple(x.shape))
    store_kwargs.setdefault("lock", False)       # chunks write disjoint bytes
    return da.store(x, target, compute=compute, **store_kwargs)
