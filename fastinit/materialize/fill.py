"""Filling planned tensors in place in a shard file, a memory-mapped slab at a time.

A tensor larger than `SLAB_BYTES` is filled in consecutive C-order slabs (`_slabs`), each
through its own short-lived mapping and a call of its initializer with ``global_shape`` and
``index``, so the values equal a fill of the whole tensor in memory. Runs of small tensors of
one dtype share one mapping and one `fastinit.fill_many` call. Initializers that cannot fill a
block on its own (orthogonal, sparse, ...) fill their tensor in one call.
"""

import math

import numpy as np

import fastinit

from ..seeding import seed_for
from . import safetensors as st
from .planning import initializer, storage_constant

#: Bytes of one slab: tensors larger than this are filled (and mapped) a slab at a time.
SLAB_BYTES = 64 << 20

_SAMPLERS = ("normal", "uniform", "truncated_normal", "random")
_CONSTANTS = ("zeros", "ones", "constant")
# Initializers whose blocks are cheap to compute independently (fans from global_shape):
# filled slab by slab like the samplers. Any other initializer (orthogonal, sparse, ...)
# fills its tensor in one call.
_BLOCKWISE = frozenset(_SAMPLERS + _CONSTANTS + (
    "variance_scaling", "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform",
    "lecun_normal", "selu_normal", "eye", "dirac"))


def _slabs(shape, itemsize, slab_bytes):
    """(index, block shape, element offset) of consecutive C-order slabs of a tensor.

    Slabs are runs of the first axis k whose trailing block ``shape[k+1:]`` fits in
    `slab_bytes`; the axes before k are fixed by integer indexes.
    """
    n = math.prod(shape)
    if n * itemsize <= slab_bytes or not shape:
        yield None, shape, 0
        return
    k = 0
    while math.prod(shape[k + 1:]) * itemsize > slab_bytes:
        k += 1
    inner = math.prod(shape[k + 1:])
    rows = max(1, slab_bytes // (inner * itemsize))
    for outer in np.ndindex(*shape[:k]):
        base = (int(np.ravel_multi_index(outer, shape[:k])) * shape[k] if k else 0) * inner
        for a in range(0, shape[k], rows):
            b = min(a + rows, shape[k])
            yield tuple(outer) + (slice(a, b),), (b - a,) + shape[k + 1:], base + a * inner


def _zero_rows(view, index, rows):
    """Zero the rows of `rows` (leading-axis indices) that fall in this slab."""
    if not rows:
        return
    if index is None:
        for r in rows:
            view[r] = 0
    elif isinstance(index[0], slice):
        for r in rows:
            if index[0].start <= r < index[0].stop:
                view[r - index[0].start] = 0
    elif index[0] in rows:
        view[...] = 0


def _fill_tensor(shard, offset, p, seed, threads, slab_bytes, tick):
    """Fill tensor `p` at byte `offset` of `shard`; `tick(nbytes)` after each slab."""
    size = st.itemsize(p.dtype)
    if math.prod(p.shape) == 0:
        return
    if p.init in _CONSTANTS:
        value = {"zeros": 0.0, "ones": 1.0}.get(p.init) if p.init != "constant" \
            else p.params["value"]
        value = storage_constant(value, p.dtype, p.name)

        def run(view, index):
            view[...] = value
    else:
        fn = initializer(p.init)
        rng = seed_for(seed, p.name)
        if p.init not in _BLOCKWISE:
            slab_bytes = math.inf

        def run(view, index):
            if index is None:
                fn(out=view, dtype=p.dtype, rng=rng, threads=threads, **p.params)
            else:
                fn(out=view, dtype=p.dtype, rng=rng, threads=threads, global_shape=p.shape,
                   index=index, **p.params)
            _zero_rows(view, index, p.zero_rows)

    for index, bshape, start in _slabs(p.shape, size, slab_bytes):
        shard.fill(offset + start * size, p.dtype, bshape, lambda v: run(v, index))
        tick(math.prod(bshape) * size)


def _batchable(p, slab_bytes):
    """Whether `p` can join a batched run: a constant, or an initializer that is (at call
    time) one of those `fastinit.fill_many` batches."""
    from .._many import _BY_ID
    if not 0 < math.prod(p.shape) * st.itemsize(p.dtype) <= slab_bytes:
        return False
    return p.init in _CONSTANTS or id(initializer(p.init)) in _BY_ID


def _runs(params, slab_bytes):
    """Consecutive tensors (in file order) of one dtype, each and together within
    `slab_bytes`, whose initializers `fastinit.fill_many` batches; others alone."""
    run, size = [], 0
    for p in params:
        nbytes = math.prod(p.shape) * st.itemsize(p.dtype)
        if not _batchable(p, slab_bytes):
            if run:
                yield run
            run, size = [], 0
            yield [p]
            continue
        if run and (run[0].dtype != p.dtype or size + nbytes > slab_bytes):
            yield run
            run, size = [], 0
        run.append(p)
        size += nbytes
    if run:
        yield run


def _fill_run(shard, offsets, run, seed, threads, tick):
    """Fill a run of small tensors through one mapping and one batched engine call."""
    size = st.itemsize(run[0].dtype)
    start = offsets[run[0].name]
    count = sum(math.prod(p.shape) for p in run)

    def fill(buf):
        items, consts = [], []
        for p in run:
            a = (offsets[p.name] - start) // size
            view = buf[a:a + math.prod(p.shape)].reshape(p.shape)
            if p.init in _CONSTANTS:
                value = {"zeros": 0.0, "ones": 1.0}.get(p.init) if p.init != "constant" \
                    else p.params["value"]
                consts.append((view, storage_constant(value, p.dtype, p.name)))
            else:
                items.append((initializer(p.init), view,
                              dict(p.params, dtype=p.dtype, rng=seed_for(seed, p.name))))
        fastinit.fill_many(items, threads=threads)
        for view, value in consts:
            view[...] = value
        for p in run:
            a = (offsets[p.name] - start) // size
            _zero_rows(buf[a:a + math.prod(p.shape)].reshape(p.shape), None, p.zero_rows)

    shard.fill(start, run[0].dtype, (count,), fill)
    tick(count * size)
    tick(tensors=len(run))


def fill_shard(shard, params, offsets, seed, threads, slab_bytes, tick):
    """Fill the tensors `params` of `shard` (a `fastinit.materialize.safetensors.ShardFile`)
    at their `offsets`; `tick(nbytes)` after each slab, `tick(tensors=k)` after k tensors."""
    for run in _runs(sorted(params, key=lambda p: offsets[p.name]), slab_bytes):
        if len(run) > 1:
            _fill_run(shard, offsets, run, seed, threads, tick)
            continue
        p = run[0]
        _fill_tensor(shard, offsets[p.name], p, seed, threads, slab_bytes, tick)
        tick(tensors=1)
