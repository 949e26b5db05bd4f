"""Key -> stream: the ``numpy.random.SeedSequence`` an initializer draws from.

`stream` derives it from a JAX key's data, `key_for` makes a JAX key from a seed and a
parameter name, and ``rng=`` (an int or a SeedSequence) replaces the key.
"""

import math

import jax
import numpy as np

from ..seeding import seed_for


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
