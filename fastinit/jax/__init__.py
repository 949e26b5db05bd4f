r"""JAX / Flax backend: ``jax.nn.initializers`` look-alikes filled by fastinit.

Every name of ``jax.nn.initializers`` is here with JAX's factory signature and defaults, and
every factory returns ``init(key, shape, dtype=<factory dtype>, out_sharding=None, *, rng=None)``
returning a ``jax.Array``, so the initializers drop into Flax (``kernel_init=``,
``bias_init=``, ``flax.nnx``) and into any code written for ``jax.nn.initializers``::

    import fastinit.jax as fj
    dense = flax.linen.Dense(4096, kernel_init=fj.lecun_normal())
    w = fj.he_normal()(jax.random.key(0), (4096, 4096))

Semantics are JAX's: ``*_normal`` are truncated normals (cut at +-2 std, variance corrected),
fans come from ``in_axis``/``out_axis``/``batch_axis`` with JAX's formula, ``uniform(scale)``
is U[0, scale), ``truncated_normal`` bounds are in std units without correction, the default
dtype is JAX's default float dtype (float32, float64 under ``jax_enable_x64``), complex dtypes
where JAX accepts them. Shapes, dtypes and errors come from JAX itself: each call first runs
the matching ``jax.nn.initializers`` initializer abstractly (``jax.eval_shape``, cached per
shape/dtype), so a bad argument raises exactly JAX's exception and the result has exactly
JAX's shape and dtype. Only the values differ: they come from fastinit's stream.

Key -> stream (documented, stable)
----------------------------------
The values are a function of the key's data only::

    words = numpy.asarray(jax.random.key_data(key)).ravel()        # uint32 words
    stream = numpy.random.SeedSequence([int(w) for w in words])     # == fastinit.jax.stream(key)

and the array equals the corresponding fastinit NumPy function called with ``rng=stream``
(e.g. ``fj.he_normal()(key, s)`` equals ``fastinit.variance_scaling(s, 2.0, 'fan_in',
'truncated_normal', layout='jax', rng=fastinit.jax.stream(key))``). Raw ``uint32[2]`` keys
(``jax.random.PRNGKey``) and typed keys (``jax.random.key``) with the same data give the same
values; the key's implementation (threefry, rbg) only matters through its data. Same key, same
array; keys with different data give independent streams.

``rng=`` (keyword only) replaces the key: ``init(key, shape, rng=fastinit.seed_for(seed,
name))`` ignores `key` (it may be None) and uses that stream, so the JAX engine gives the very
values the NumPy, Dask and torch engines give for the same seed and name. `key_for(seed, name)`
instead makes a JAX key from a seed and a parameter name (usable with any JAX code).

Sharding
--------
``out_sharding`` -- a ``NamedSharding`` (Explicit or Auto mesh axes), any other
``jax.sharding.Sharding``, or a ``PartitionSpec`` under ``jax.set_mesh`` -- builds the array
with ``jax.make_array_from_callback``: each distinct shard index is filled once, on the host,
through fastinit's ``global_shape=``/``index=`` addressing, into a buffer of the shard's size
(no full-size host array; replicated shards share one buffer), and equals the same slice of
the unsharded result bit for bit. In a multi-host job each process fills only the shards of
its own devices, and the values still do not depend on the sharding or the process count.
orthogonal and delta_orthogonal accept ``out_sharding`` too (JAX raises
NotImplementedError); the orthogonal matrix is computed whole on the host (QR needs all of
it) and sliced.

Under ``jax.jit``/``jax.vmap`` (a traced key) the values are computed on the host by
``jax.pure_callback`` from the key's data -- the same values as eagerly, but the whole array at
once; ``out_sharding`` is then applied with ``jax.sharding.reshard`` (Explicit mesh axes) or
``jax.lax.with_sharding_constraint``.

constant, zeros and ones are JAX's own functions: they draw nothing and XLA fills them on the
device with no host buffer.
"""

import math
import operator
import threading
import types

import jax
import jax.numpy as jnp
import numpy as np

from . import _linalg, initializers as _fi, samplers as _samplers
from .seeding import seed_for

__all__ = [
    "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform",
    "normal", "ones", "orthogonal", "truncated_normal", "uniform", "variance_scaling",
    "xavier_normal", "xavier_uniform", "zeros",
    "Initializer", "stream", "key_for",
]



def _jax_original(name):
    """jax.nn.initializers.<name> as JAX defines it, captured once at import.

    fastinit.jax runs JAX's own initializers (for shapes, dtypes and errors); looking them up
    in ``jax.nn.initializers`` at call time would recurse once a user has put fastinit.jax's
    functions there (``jax.nn.initializers.normal = fastinit.jax.normal``), so they are
    captured here, from JAX's defining module when the public one already holds fastinit's.
    """
    fn = getattr(jax.nn.initializers, name)
    if str(getattr(fn, "__module__", "")).split(".")[0] == "fastinit":
        from jax._src.nn import initializers as defining
        fn = getattr(defining, name)
    return fn


_JAX_NAMES = ("Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform",
              "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "normal", "ones",
              "orthogonal", "truncated_normal", "uniform", "variance_scaling", "zeros")
_ref = types.SimpleNamespace(**{n: _jax_original(n) for n in _JAX_NAMES})
Initializer = _ref.Initializer
constant = _ref.constant
zeros = _ref.zeros
ones = _ref.ones

_REAL = tuple(np.dtype(t) for t in (np.float16, jnp.bfloat16, np.float32, np.float64))
_COMPLEX = (np.dtype(np.complex64), np.dtype(np.complex128))


# --- keys and streams --------------------------------------------------------------------

def _is_tracer(x):
    return isinstance(x, jax.core.Tracer)


def _words_of(data):
    return [int(w) for w in np.asarray(data, dtype=np.uint32).ravel()]


def stream(key):
    """The ``numpy.random.SeedSequence`` a fastinit.jax initializer draws from for `key`.

    ``SeedSequence([w0, w1, ...])`` with ``w`` the uint32 words of
    ``jax.random.key_data(key)`` in order (two for threefry keys, four for rbg keys).
    Accepts typed keys (``jax.random.key``) and raw uint32 keys (``jax.random.PRNGKey``).

    Examples
    --------
    >>> import jax, fastinit.jax as fj
    >>> fj.stream(jax.random.PRNGKey(42)).entropy
    [0, 42]
    """
    data = jax.random.key_data(key)
    if _is_tracer(data):
        raise TypeError("stream() needs a concrete key, not a traced one (inside jax.jit the "
                        "initializers compute the stream in a host callback)")
    return np.random.SeedSequence(_words_of(data))


def key_for(seed, name, impl=None):
    """A JAX key for parameter `name` under model seed `seed` (per-name seeding).

    The key's data are the first words of ``fastinit.seed_for(seed, name).generate_state``
    (as many uint32 words as the key implementation holds), so it depends only on the seed
    and the name: adding, removing or reordering other parameters changes nothing. Works
    with fastinit.jax initializers and with any other JAX code (jax.nn.initializers, Flax).
    For the *same values* as fastinit's NumPy/Dask/torch engines, pass
    ``rng=fastinit.seed_for(seed, name)`` to a fastinit.jax initializer instead.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
    name : str
    impl : str, optional
        PRNG implementation as for ``jax.random.key`` (default: JAX's default, threefry).

    Returns
    -------
    jax.Array
        A typed key (``jax.random.wrap_key_data``).
    """
    proto = jax.random.key(0, impl=impl)
    kshape = jax.random.key_data(proto).shape
    words = seed_for(seed, name).generate_state(math.prod(kshape), np.uint32)
    return jax.random.wrap_key_data(words.reshape(kshape), impl=jax.random.key_impl(proto))


def _rng_stream(rng):
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"rng must be an int or a numpy.random.SeedSequence (e.g. "
                        f"fastinit.seed_for(seed, name)), got {type(rng).__name__}")
    if rng < 0:
        raise ValueError(f"rng must be a non-negative int, got {rng}")
    return np.random.SeedSequence(int(rng))


# --- the abstract oracle: JAX's own initializer under jax.eval_shape ---------------------

class _Oracle:
    """Runs JAX's initializer abstractly: JAX's errors, shape and dtype; cached."""

    def __init__(self, ref):
        self.ref = ref
        self.cache = {}
        self.lock = threading.Lock()

    def __call__(self, key, shape, dtype):
        try:
            dims = (shape,) if isinstance(shape, int) else tuple(shape)
            ck = (type(shape), tuple((type(d), d) for d in dims), type(dtype), dtype,
                  jax.typeof(key) if hasattr(jax, "typeof") else (key.shape, key.dtype),
                  jax.config.jax_enable_x64)
            hash(ck)
        except Exception:       # unhashable or odd argument: let JAX judge it, uncached
            ck = None
        if ck is not None:
            hit = self.cache.get(ck)
            if hit is not None:
                return hit
        aval = jax.eval_shape(lambda: self.ref(key, shape, dtype))
        if ck is not None:
            with self.lock:
                if len(self.cache) > 512:
                    self.cache.clear()
                self.cache[ck] = aval
        return aval


_DUMMY_KEY = None


def _dummy_key():
    global _DUMMY_KEY
    if _DUMMY_KEY is None:
        _DUMMY_KEY = jax.random.key(0)
    return _DUMMY_KEY


def _context_mesh():
    """The concrete mesh of ``jax.set_mesh`` (or of a legacy ``with mesh:``), else None."""
    get_mesh = getattr(jax.sharding, "get_mesh", None)
    if get_mesh is not None:
        mesh = get_mesh()
        if not mesh.empty:
            return mesh
    try:                                    # ``with Mesh(...):`` in older JAX
        from jax._src.mesh import thread_resources
        mesh = thread_resources.env.physical_mesh
        return None if mesh.empty else mesh
    except Exception:
        return None


def _check_sharding_type(out_sharding, api):
    if out_sharding is not None and not isinstance(
            out_sharding, (jax.sharding.PartitionSpec, jax.sharding.Sharding)):
        raise TypeError(f"`out_sharding` argument of {api} only supports instances of "
                        f"`jax.sharding.Sharding` (e.g. `NamedSharding`) or `PartitionSpec`. "
                        f"Got {out_sharding} of type: {type(out_sharding)}")


def _check_sharding(out_sharding, api):
    """A concrete ``jax.sharding.Sharding`` for `out_sharding`, or None."""
    if out_sharding is None:
        return None
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        mesh = _context_mesh()
        if mesh is None or mesh.empty:
            raise ValueError(
                "Using PartitionSpec when you are not under a mesh context is not allowed. "
                "Please pass a NamedSharding instance or enter into a mesh context via "
                f"`jax.set_mesh`. Got {out_sharding}")
        return jax.sharding.NamedSharding(mesh, out_sharding)
    if isinstance(out_sharding, jax.sharding.NamedSharding):
        if out_sharding.mesh.empty:
            return None
        if not isinstance(out_sharding.mesh, jax.sharding.Mesh):
            raise ValueError(f"`out_sharding` of {api} must be on a concrete "
                             f"jax.sharding.Mesh (devices), got an abstract mesh")
        return out_sharding
    _check_sharding_type(out_sharding, api)
    return out_sharding


# --- running an initializer ----------------------------------------------------------------

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
    mesh = (out_sharding.mesh if isinstance(out_sharding, jax.sharding.NamedSharding)
            else jax.sharding.get_abstract_mesh())
    axis_type = getattr(jax.sharding, "AxisType", None)
    explicit = axis_type is not None and any(
        t == axis_type.Explicit for t in getattr(mesh, "axis_types", ()) or ())
    if explicit and hasattr(jax.sharding, "reshard"):
        return jax.sharding.reshard(out, out_sharding)
    return jax.lax.with_sharding_constraint(out, out_sharding)


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
    init.__module__ = __name__
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


# --- value helpers -------------------------------------------------------------------------

def _kw(call, gshape, dtype, index):
    if index is None:
        return dict(dtype=dtype, rng=call.ss)
    return dict(dtype=dtype, rng=call.ss, global_shape=gshape, index=tuple(index))


def _bshape(gshape, index):
    if index is None:
        return gshape
    return tuple(len(range(*s.indices(n))) for s, n in zip(index, gshape))


def _real_param(x, name):
    """A concrete real parameter (Python/NumPy/JAX scalar) as float."""
    try:
        v = float(np.asarray(x))
    except Exception:
        raise TypeError(f"{name} must be a real scalar, got {x!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return v


def _scaled(fill_pos, s):
    """fill with |s| (a positive parameter) and negate for s < 0; zeros for s == 0."""
    def fill(call, gshape, dtype, index):
        if s == 0:
            return np.zeros(_bshape(gshape, index), dtype)
        a = fill_pos(call, gshape, dtype, index, abs(s))
        if s < 0:
            np.negative(a, out=a)
        return a
    return fill


# --- random initializers -------------------------------------------------------------------

def uniform(scale=1e-2, dtype=None):
    """``jax.nn.initializers.uniform``: values uniform in [0, scale), fastinit's stream.

    fastinit: ``fastinit.uniform(shape, 0, scale, rng=stream(key))`` (negative `scale`:
    the negation of the fill with ``|scale|``, i.e. values in (scale, 0] as JAX's
    ``U[0, 1) * scale``).
    """
    def check():
        _real_param(scale, "scale")

    def fill(call, gshape, dtype, index, s):
        return _samplers.uniform(gshape if index is None else None, 0.0, s,
                                 **_kw(call, gshape, dtype, index))

    def lazy(call, gshape, dtype, index):
        return _scaled(fill, _real_param(scale, "scale"))(call, gshape, dtype, index)

    spec = _Spec("uniform", _ref.uniform(scale, dtype), lazy, check=check)
    return _make(spec, dtype, _INIT_DOC.format(what=f"Uniform in [0, {scale!r})."))


def normal(stddev=1e-2, dtype=None):
    """``jax.nn.initializers.normal``: N(0, stddev^2), fastinit's stream.

    Real: ``fastinit.normal(shape, 0, stddev)``. Complex: real and imaginary parts each
    N(0, stddev^2 / 2) (as JAX), i.e. ``fastinit.variance_scaling`` 'normal' with variance
    stddev^2; element k uses stream words 2k, 2k + 1.
    """
    def fill(call, gshape, dtype, index, s):
        kw = _kw(call, gshape, dtype, index)
        shape = gshape if index is None else None
        if dtype.kind == "c":
            return _fi.variance_scaling(shape, s * s, "fan_in", "normal", fan_in=1, fan_out=1,
                                        **kw)
        return _samplers.normal(shape, 0.0, s, **kw)

    def lazy(call, gshape, dtype, index):
        return _scaled(fill, _real_param(stddev, "stddev"))(call, gshape, dtype, index)

    spec = _Spec("normal", _ref.normal(stddev, dtype), lazy, complex_ok=True,
                 check=lambda: _real_param(stddev, "stddev"))
    return _make(spec, dtype, _INIT_DOC.format(what=f"Normal, std {stddev!r}."))


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """``jax.nn.initializers.truncated_normal``: N(0, 1) cut to [lower, upper], times stddev.

    Bounds in units of `stddev`, no variance correction (as JAX):
    ``fastinit.truncated_normal(shape, 0, stddev, lower, upper)``. ``lower < upper``
    is required (JAX does not check reversed bounds; fastinit raises ValueError). A negative
    `stddev` gives ``stddev * z`` as in JAX (the fill with ``|stddev|``, negated).
    """
    def check():
        _real_param(stddev, "stddev")
        lo, hi = float(np.asarray(lower)), float(np.asarray(upper))
        if not lo < hi:
            raise ValueError(f"truncated_normal needs lower < upper, got lower={lower!r}, "
                             f"upper={upper!r}")

    def fill(call, gshape, dtype, index, s):
        return _samplers.truncated_normal(
            gshape if index is None else None, 0.0, s,
            float(np.asarray(lower)), float(np.asarray(upper)), **_kw(call, gshape, dtype, index))

    def lazy(call, gshape, dtype, index):
        return _scaled(fill, _real_param(stddev, "stddev"))(call, gshape, dtype, index)

    spec = _Spec("truncated_normal", _ref.truncated_normal(stddev, dtype, lower, upper), lazy,
                 check=check)
    return _make(spec, dtype, _INIT_DOC.format(
        what=f"Truncated normal, std {stddev!r}, bounds [{lower!r}, {upper!r}] std."))


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    """JAX's ``jax._src.nn.initializers._compute_fans``, same arithmetic (float fans)."""
    if isinstance(in_axis, int):
        in_size = shape[in_axis]
    else:
        in_size = math.prod([shape[i] for i in in_axis])
    if isinstance(out_axis, int):
        out_size = shape[out_axis]
    else:
        out_size = math.prod([shape[i] for i in out_axis])
    if isinstance(batch_axis, int):
        batch_size = shape[batch_axis]
    else:
        batch_size = math.prod([shape[i] for i in batch_axis])
    receptive_field_size = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field_size, out_size * receptive_field_size


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None):
    """``jax.nn.initializers.variance_scaling`` filled by ``fastinit.variance_scaling``.

    Variance ``scale / n`` with n = fan_in, fan_out, (fan_in + fan_out) / 2 or
    sqrt(fan_in * fan_out) from JAX's fan formula over `in_axis`/`out_axis`/`batch_axis`;
    'truncated_normal' is N(0, 1) cut at +-2 times ``sqrt(scale / n) / 0.8796...``,
    'normal' untruncated, 'uniform' U[-1, 1) times ``sqrt(3 scale / n)``; complex dtypes as
    ``fastinit.variance_scaling`` (the complex truncated normal has variance exactly
    scale / n; JAX's constant leaves it 1.9 % higher). `scale` must be positive (JAX returns
    NaN for a negative scale; fastinit raises ValueError).
    """
    def check():
        v = _real_param(scale, "scale")
        if v <= 0:
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")

    def fill(call, gshape, dtype, index):
        fi, fo = _compute_fans(gshape, in_axis, out_axis, batch_axis)
        return _fi.variance_scaling(gshape if index is None else None,
                                    _real_param(scale, "scale"), mode, distribution,
                                    fan_in=fi, fan_out=fo, **_kw(call, gshape, dtype, index))

    spec = _Spec("variance_scaling",
                 _ref.variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis,
                                       dtype),
                 fill, complex_ok=True, check=check)
    return _make(spec, dtype, _INIT_DOC.format(
        what=f"Variance scaling ({scale!r}, {mode!r}, {distribution!r})."))


def _named_vs(name, scale, mode, distribution, ref_factory):
    def factory(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
        init = variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)
        # same values as variance_scaling; JAX's own named factory as the oracle, our name
        spec = init.fastinit_spec
        spec.name = name
        spec.oracle = _Oracle(ref_factory(in_axis, out_axis, batch_axis, dtype))
        init.__name__ = init.__qualname__ = name + ".init"
        return init
    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (f"``jax.nn.initializers.{name}``: variance_scaling({scale}, "
                       f"{mode!r}, {distribution!r}) filled by fastinit.")
    return factory


glorot_uniform = _named_vs("glorot_uniform", 1.0, "fan_avg", "uniform", _ref.glorot_uniform)
glorot_normal = _named_vs("glorot_normal", 1.0, "fan_avg", "truncated_normal",
                          _ref.glorot_normal)
lecun_uniform = _named_vs("lecun_uniform", 1.0, "fan_in", "uniform", _ref.lecun_uniform)
lecun_normal = _named_vs("lecun_normal", 1.0, "fan_in", "truncated_normal", _ref.lecun_normal)
he_uniform = _named_vs("he_uniform", 2.0, "fan_in", "uniform", _ref.he_uniform)
he_normal = _named_vs("he_normal", 2.0, "fan_in", "truncated_normal", _ref.he_normal)
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


# --- orthogonal ----------------------------------------------------------------------------

def _complex_orthogonal(call, gshape, column_axis, dtype):
    """Haar-distributed complex (semi-)unitary matrix, JAX's layout; float stream as fastinit."""
    n = gshape[column_axis]
    m = math.prod(gshape) // n
    real = np.float32 if dtype == np.complex64 else np.float64
    z = _samplers.normal((m, n, 2), 0.0, math.sqrt(0.5), dtype=real, rng=call.ss)
    z = z.view(dtype)[..., 0]
    tall = m >= n
    q, r = _linalg.qr(z if tall else z.T)
    d = np.diagonal(r)
    ph = np.where(d == 0, 1, d / np.where(d == 0, 1, np.abs(d))).astype(dtype)
    q = q * ph
    q = (q if tall else q.T)
    q = q.reshape(tuple(np.delete(gshape, column_axis)) + (n,))
    return np.moveaxis(q, -1, column_axis)


def _orthogonal_full(call, gshape, dtype, scale, column_axis):
    """The whole orthogonal tensor times `scale` (computed once per call)."""
    mk = ("ortho", gshape, column_axis)
    q = call.memo.get(mk)
    if q is None:
        ax = column_axis % len(gshape)
        if dtype.kind == "c":
            q = _complex_orthogonal(call, gshape, ax, dtype) * dtype.type(scale)
        elif scale == 0:
            q = np.zeros(gshape, dtype)
        else:
            q = _fi.orthogonal(gshape, abs(scale), column_axis=ax, dtype=dtype, rng=call.ss)
            if scale < 0:
                np.negative(q, out=q)
        call.memo[mk] = q
    return q


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """``jax.nn.initializers.orthogonal``: uniformly (Haar) distributed orthogonal matrices.

    The matrix has n_cols = shape[column_axis] columns and n_rows = prod(other axes) rows
    (JAX's convention); it is ``fastinit.orthogonal(shape, scale, column_axis=column_axis)``
    (QR of an N(0, 1) matrix with the signs of diag(R) fixed). Complex dtypes: QR of a
    complex normal matrix (parts N(0, 1/2), element k from words 2k, 2k + 1) with the phases
    of diag(R) removed. Accepts ``out_sharding`` (JAX raises NotImplementedError).
    """
    def fill(call, gshape, dtype, index):
        q = _orthogonal_full(call, gshape, dtype, _real_param(scale, "scale"), column_axis)
        return q if index is None else np.ascontiguousarray(q[tuple(index)])

    spec = _Spec("orthogonal", _ref.orthogonal(scale, column_axis, dtype), fill,
                 complex_ok=True, check=lambda: _real_param(scale, "scale"))
    return _make(spec, dtype, _INIT_DOC.format(what=f"Orthogonal, scale {scale!r}."))


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """``jax.nn.initializers.delta_orthogonal``: orthogonal (in, out) matrix at the kernel centre.

    For a 3-, 4- or 5-D kernel (\\*k, in, out) with in <= out: the centre tap
    ((k - 1) // 2 along each kernel axis) holds ``orthogonal(scale, column_axis)(key,
    shape[-2:])`` (same values for the same key), every other tap is 0 (Xiao et al. 2018).
    Sharded blocks are built from their own index (zeros plus their part of the centre).
    """
    def fill(call, gshape, dtype, index):
        nd = len(gshape)
        q = _orthogonal_full(call, gshape[-2:], dtype, _real_param(scale, "scale"),
                             column_axis)
        ix = (slice(None),) * nd if index is None else tuple(index)
        pos = [np.arange(*s.indices(n)) for s, n in zip(ix, gshape)]
        vals = q[np.ix_(pos[-2], pos[-1])]
        mask = np.ones((1,) * nd, bool)
        for ax in range(nd - 2):
            c = pos[ax] == (gshape[ax] - 1) // 2
            mask = mask & c.reshape([-1 if a == ax else 1 for a in range(nd)])
        out = np.where(mask, vals.reshape((1,) * (nd - 2) + vals.shape), dtype.type(0))
        return np.ascontiguousarray(out, dtype=dtype)

    spec = _Spec("delta_orthogonal", _ref.delta_orthogonal(scale, column_axis, dtype), fill,
                 complex_ok=True, check=lambda: _real_param(scale, "scale"))
    return _make(spec, dtype, _INIT_DOC.format(what=f"Delta orthogonal, scale {scale!r}."))
