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

Submodules:

* ``factories`` -- `uniform`, `normal`, `truncated_normal`, `variance_scaling` and the named
  variance-scaling factories (``glorot_*``, ``lecun_*``, ``he_*`` and their aliases).
* ``orthogonal_matrices`` -- `orthogonal` and `delta_orthogonal`.
* ``keys`` -- key -> stream: `stream`, `key_for`, the ``rng=`` stream.
* ``running`` -- what a factory returns: the init function, filling the array whole, shard by
  shard or in a host callback under ``jax.jit``.
* ``sharding`` -- ``out_sharding`` checked as JAX checks it; the constraint on traced results.
* ``oracle`` -- JAX's own initializer run abstractly: JAX's shapes, dtypes and errors.
* ``values`` -- parameters as floats, the fill keywords of a block, signed scales.
* ``originals`` -- JAX's functions captured at import (and `constant`, `zeros`, `ones`,
  `Initializer`, re-exported as they are).
"""

from .factories import (glorot_normal, glorot_uniform, he_normal, he_uniform, kaiming_normal,
                        kaiming_uniform, lecun_normal, lecun_uniform, normal, truncated_normal,
                        uniform, variance_scaling, xavier_normal, xavier_uniform)
from .keys import key_for, stream
from .orthogonal_matrices import delta_orthogonal, orthogonal
from .originals import Initializer, constant, ones, zeros

__all__ = [
    "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform",
    "normal", "ones", "orthogonal", "truncated_normal", "uniform", "variance_scaling",
    "xavier_normal", "xavier_uniform", "zeros",
    "Initializer", "stream", "key_for",
]
