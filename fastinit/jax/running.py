"""Running an initializer: the init function, its stream, the array built block by block.

Eager keys: the whole array, or each distinct shard of ``out_sharding`` once, filled on the
host through fastinit's ``global_shape=``/``index=`` addressing. Traced keys (inside
``jax.jit``/``jax.vmap``): the same values from a ``jax.pure_callback``.
"""

import math
import operator

import jax
import jax.numpy as jnp
import numpy as np

from .keys import _is_tracer, _rng_stream, _words_of
from .oracle import _Oracle, _dummy_key
from .sharding import _check_sharding, _check_sharding_type, _constrain

_REAL = tuple(np.dtype(t) for t in (np.float16, jnp.bfloat16, np.float32, np.float64))
_COMPLEX = (np.dtype(np.complex64), np.dtype(np.complex128))


class _Call:
    """One initializer call: its stream and a per-call cache (orthogonal matrices)."""

    __slots__ = ("ss", "memo")

    def __init__(self, ss):
        self.ss = ss
        self.memo = {}


def _index_key(index, shape):
    return tuple(s.indices(n) if isinstance(s, slice) else (operator.index(s),)
                 for s, n in zip(index, shape))


def _block(spec, call, gshape, dtype, index):
    """The block `index` (None: all) of the tensor: a numpy array of the block's size."""
    if math.prod(gshape) == 0:
        return np.zeros(gshape if index is None else
                        tuple(len(range(*s.indices(n))) for s, n in zip(index, gshape)), dtype)
    return spec.fill(call, gshape, dtype, index)


def _run(spec, key, shape, dtype, out_sharding, rng):
    aval = spec.oracle(_dummy_key() if rng is not None and key is None else key, shape, dtype)
    gshape = tuple(int(n) for n in aval.shape)
    dt = np.dtype(aval.dtype)
    api = f"nn.initializers.{spec.name}"
    _check_sharding_type(out_sharding, api)
    empty = math.prod(gshape) == 0        # nothing to draw (JAX accepts any dtype here)
    if not empty and dt not in _REAL and not (spec.complex_ok and dt in _COMPLEX):
        raise TypeError(f"fastinit.jax.{spec.name} fills float16, bfloat16, float32 and float64"
                        f"{' and complex64/complex128' if spec.complex_ok else ''} arrays; got "
                        f"dtype {dt} (use jax.nn.initializers.{spec.name} for it)")
    spec.check()
    if rng is not None:
        call = _Call(_rng_stream(rng))
    else:
        data = jax.random.key_data(key)
        if _is_tracer(data):
            return _traced(spec, data, gshape, dt, out_sharding, empty)
        call = _Call(np.random.SeedSequence(_words_of(data)))
    sharding = _check_sharding(out_sharding, api)

    if sharding is None:
        return jax.device_put(_block(spec, call, gshape, dt, None))
    memo = {}

    def shard(index):
        k = _index_key(index, gshape)
        if k not in memo:
            memo[k] = _block(spec, call, gshape, dt, index)
        return memo[k]

    return jax.make_array_from_callback(gshape, sharding, shard, dtype=dt)


def _traced(spec, data, gshape, dt, out_sharding, empty):
    """Inside jit/vmap: the same values, computed on the host by a pure_callback."""
    if empty:
        out = jnp.zeros(gshape, dt)
    else:
        def host(words):
            call = _Call(np.random.SeedSequence(_words_of(words)))
            return _block(spec, call, gshape, dt, None)

        out = jax.pure_callback(host, jax.ShapeDtypeStruct(gshape, dt), data,
                                vmap_method="sequential")
    if out_sharding is None:
        return out
    return _constrain(out, out_sharding)


class _Spec:
    """What an initializer computes: name, oracle, fill(call, gshape, dtype, index)."""

    def __init__(self, name, ref, fill, complex_ok=False, check=None):
        self.name = name
        self.oracle = _Oracle(ref)
        self.fill = fill
        self.complex_ok = complex_ok
        self.check = check or (lambda: None)


def _make(spec, default_dtype, doc):
    def init(key, shape, dtype=default_dtype, out_sharding=None, *, rng=None):
        return _run(spec, key, shape, dtype, out_sharding, rng)
    init.__name__ = init.__qualname__ = spec.name + ".init"
    init.__doc__ = doc
    init.__module__ = __package__
    init.fastinit_spec = spec
    return init


_INIT_DOC = """\
{what}

Parameters
----------
key : jax.Array
    A PRNG key (typed or raw uint32); the values are a function of its data (see the module
    docstring). Ignored when `rng` is given (may then be None).
shape : tuple of ints
dtype : dtype, optional
    Default: the factory's dtype, else JAX's default float dtype.
out_sharding : jax.sharding.Sharding or PartitionSpec, optional
    Build a sharded jax.Array shard by shard (equal to the unsharded array bit for bit); a
    PartitionSpec needs ``jax.set_mesh``.
rng : int or numpy.random.SeedSequence, optional
    Use this stream instead of the key's (e.g. ``fastinit.seed_for(seed, name)``).
"""
