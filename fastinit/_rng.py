"""`rng` normalisation (Scientific Python SPEC 7) onto numpy's PCG64 stream.

An int or SeedSequence seeds exactly like ``np.random.default_rng(rng)``; ``None`` draws fresh
OS entropy; a ``Generator`` (or bare ``PCG64`` bit generator) is consumed: the fill starts at
its current state and leaves it where numpy would after drawing the same values.
"""

import numpy as np

_ACCEPTED = ("None, an int, a numpy.random.SeedSequence, or a numpy.random.Generator "
             "(or PCG64 bit generator) backed by PCG64")


class Stream:
    """The PCG64 state a fill reads, and, for a Generator, the bit generator to advance."""

    __slots__ = ("state", "bitgen")

    def __init__(self, state, bitgen=None):
        self.state = state          # (state, inc, has_uint32, uinteger)
        self.bitgen = bitgen


def read_state(bg):
    """numpy PCG64 state as (state, inc, has_uint32, uinteger)."""
    st = bg.state
    return (st["state"]["state"], st["state"]["inc"], st["has_uint32"], st["uinteger"])


def write_state(bg, state):
    s, inc, has, half = state
    bg.state = {"bit_generator": "PCG64", "state": {"state": s, "inc": inc},
                "has_uint32": has, "uinteger": half}


def resolve(rng):
    """Validate `rng` without consuming anything; returns a Stream."""
    if rng is None:
        return Stream(read_state(np.random.PCG64()))
    if isinstance(rng, np.random.Generator):
        bg = rng.bit_generator
        if type(bg) is not np.random.PCG64:
            raise TypeError(f"rng is a Generator backed by {type(bg).__name__}; fastinit "
                            f"reproduces numpy's PCG64 stream only. rng must be {_ACCEPTED}")
        return Stream(None, bg)
    if type(rng) is np.random.PCG64:
        return Stream(None, rng)
    if isinstance(rng, np.random.SeedSequence):
        return Stream(read_state(np.random.PCG64(rng)))
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"rng must be {_ACCEPTED}; got {type(rng).__name__}")
    if rng < 0:
        raise ValueError(f"rng must be a non-negative int seed, got {rng}")
    return Stream(read_state(np.random.PCG64(int(rng))))
