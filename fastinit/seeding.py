"""One stream per tensor, derived from a model seed and the tensor's name.

``seed_for(seed, name)`` is ``SeedSequence(seed, spawn_key=K(name))`` where ``K(name)`` is the
SHA-256 digest of the UTF-8 name read as eight little-endian uint32 words. The result depends
only on the seed and the name — not on which other parameters exist, their order, the process
or the sharding — so adding a layer leaves every other layer's weights unchanged, and every
engine (NumPy, Dask, JAX, torch, checkpoint materialisation) derives the same stream.
"""

import hashlib

import numpy as np


def name_key(name):
    """The spawn key of a tensor name: SHA-256 of its UTF-8 bytes as 8 uint32 words."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4))


def seed_for(seed, name):
    """The SeedSequence of tensor `name` under model seed `seed`.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        The model seed. A SeedSequence contributes its entropy and spawn key.
    name : str
        The tensor's name, e.g. ``"layers.0.attn.q_proj.weight"``.

    Returns
    -------
    numpy.random.SeedSequence
        Pass it as ``rng=`` to any fastinit function.

    Examples
    --------
    >>> import fastinit
    >>> a = fastinit.normal((2, 3), rng=fastinit.seed_for(0, "fc1.weight"))
    >>> b = fastinit.normal((2, 3), rng=fastinit.seed_for(0, "fc1.weight"))
    >>> bool((a == b).all())
    True
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + name_key(name))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy.random.SeedSequence, got "
                        f"{type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return np.random.SeedSequence(int(seed), spawn_key=name_key(name))
