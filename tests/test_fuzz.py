"""Randomised (fixed-seed) combinations of everything at once, against the reference model:
sampler x dtype x parameters x global_shape/index x layout of out x threads x rng history."""

import math

import numpy as np
import pytest

import fastinit
import reference as ref
from conftest import DTYPE_NAMES, SAMPLERS, assert_same_bits

INTERVALS = [(-2.0, 2.0), (-1.0, 3.0), (0.0, math.inf), (-math.inf, -5.0), (4.0, 6.0),
             (10.0, 12.0), (-40.0, -30.0), (-0.5, 0.25)]


def random_case(r):
    sampler = SAMPLERS[r.integers(len(SAMPLERS))]
    dtype = DTYPE_NAMES[r.integers(len(DTYPE_NAMES))]
    if sampler == "uniform":
        low = float(r.normal(0, 3))
        params = dict(low=low, high=low + float(r.exponential(2)) + 1e-3)
    elif sampler == "normal":
        params = dict(mean=float(r.normal(0, 2)), std=float(r.exponential(1)))
    elif sampler == "truncated_normal":
        lo, hi = INTERVALS[r.integers(len(INTERVALS))]
        params = dict(mean=float(r.normal(0, 1)), std=float(r.exponential(1)) + 1e-3,
                      lower=lo, upper=hi)
    else:
        params = {}
    ndim = int(r.integers(1, 5))
    budget = 10 ** float(r.uniform(0.5, 5.3))
    side = max(1, int(round(budget ** (1.0 / ndim))))
    gshape = tuple(int(r.integers(1, 2 * side + 2)) for _ in range(ndim))
    index = []
    for n in gshape:
        kind = r.integers(4)
        if kind == 0:
            index.append(slice(None))
        elif kind == 1 and n > 1:
            index.append(int(r.integers(-n, n)))
        else:
            a = int(r.integers(0, n))
            b = int(r.integers(a, n + 1))
            step = int(r.choice([1, 1, 2, 3, 7, 1025]))
            index.append(slice(a, b, step))
    use_block = r.random() < 0.7
    return sampler, dtype, params, gshape, tuple(index), use_block


def make_out(r, shape, dtype):
    """An output view of `shape` in a random layout (or None: let fastinit allocate)."""
    dt = ref.as_dtype(dtype)
    kind = r.integers(5)
    if kind == 0:
        return None
    if shape == ():
        return np.empty((), dt)
    if kind == 1:
        return np.empty(shape, dt, order="F")
    if kind == 2:
        # a view with random steps and reversals into a bigger parent
        steps = [int(r.choice([1, 2, 3])) * int(r.choice([1, -1])) for _ in shape]
        parent = np.empty(tuple(max(1, n * abs(s)) for n, s in zip(shape, steps)), dt)
        v = parent[tuple(slice(None, None, s) for s in steps)]
        return v[tuple(slice(0, n) for n in shape)]
    if kind == 3:
        perm = r.permutation(len(shape))
        inv = np.argsort(perm)
        return np.empty(tuple(shape[p] for p in perm), dt).transpose(inv)
    if dtype in ("float16", "bfloat16"):
        return np.empty(shape, np.uint16)
    return np.empty(shape, dt)


@pytest.mark.parametrize("seed", range(12))
def test_random_combinations_equal_the_model(seed):
    r = np.random.default_rng(1000 + seed)
    for _ in range(40):
        sampler, dtype, params, gshape, index, use_block = random_case(r)
        pre32, pre64 = int(r.integers(0, 4)), int(r.integers(0, 2))
        g = np.random.Generator(np.random.PCG64(int(r.integers(2**32))))
        g.random(pre32, dtype=np.float32)
        g.random(pre64)
        state = ref.initial_state(g)
        threads = int(r.choice([1, 2, 3, 8]))
        fn = getattr(fastinit, sampler)
        what = f"{sampler} {dtype} {params} {gshape} {index if use_block else ''} t={threads}"
        if use_block:
            want, _ = ref.sample(sampler, dtype=dtype, rng=state, global_shape=gshape,
                                 index=index, **params)
        else:
            want, after = ref.sample(sampler, gshape, dtype=dtype, rng=state, **params)
        out = make_out(r, want.shape, dtype)
        kw = dict(dtype=dtype, rng=g, threads=threads, **params)
        if use_block:
            kw.update(global_shape=gshape, index=index)
        if out is None:
            got = fn(None if use_block else gshape, **kw)
        else:
            got = fn(out=out, **kw)
            assert got is out
        if got.dtype == np.uint16:
            got = got.view(ref.as_dtype(dtype))
        assert_same_bits(got, want, what)
        assert g.bit_generator.state == (state if use_block else after), what
