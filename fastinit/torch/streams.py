"""Which random stream and how many threads a call uses.

``rng=`` wins; else, inside `patch` / `init_module`, the active configuration's per-tensor
resolver or Generator; else one 63-bit seed drawn with torch's RNG (``generator=`` or torch's
default CPU generator). `_advance` moves a NumPy Generator past what a whole-tensor fill
consumes, when the tensor was written in pieces.
"""

import numpy as np
import torch

from .state import _active


def _draw_seed(generator):
    """A 63-bit seed drawn with torch's RNG (generator, or torch's default CPU generator)."""
    dev = "cpu" if generator is None else generator.device
    return int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64, generator=generator,
                             device=dev))


def _rng_for(rng, generator, tensor):
    if rng is not None:
        if generator is not None:
            raise ValueError("pass generator= (a torch.Generator) or rng= (fastinit's seeding), "
                             "not both")
        return rng
    if generator is None:
        cfg = _active()
        if cfg is not None:
            if cfg.resolver is not None:
                r = cfg.resolver(tensor)
                if r is not None:
                    return r
            if cfg.gen is not None:
                return cfg.gen
    return _draw_seed(generator)


def _threads(threads):
    if threads is None:
        cfg = _active()
        if cfg is not None:
            return cfg.threads
    return threads


def _advance(rng, words, word32):
    """Advance a numpy PCG64 Generator (or bit generator) past `words` words of the stream, as
    numpy's next_uint32 (word32) or next_uint64 would."""
    bg = rng.bit_generator if isinstance(rng, np.random.Generator) else rng
    if not words:
        return
    with bg.lock:
        st = bg.state
        if word32:
            k = words
            if st["has_uint32"]:
                k -= 1
            full, odd = divmod(k, 2)
            bg.advance(full)                  # resets the buffered half
            if odd:
                w = int(bg.random_raw())
                st = bg.state
                st["has_uint32"], st["uinteger"] = 1, w >> 32
                bg.state = st
        else:
            has, half = st["has_uint32"], st["uinteger"]
            bg.advance(words)
            st = bg.state
            st["has_uint32"], st["uinteger"] = has, half
            bg.state = st


def _is_generator(rng):
    return isinstance(rng, np.random.Generator) or type(rng) is np.random.PCG64
