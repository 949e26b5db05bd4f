"""Issue item 6: tensors of more than 2^31 elements (64-bit indices end to end).

One test only: a 4 GiB fill. Marked slow, but it runs in the default `pytest` invocation.
"""

import numpy as np
import pytest

import fastinit
import reference as ref
from conftest import clone

N = 2**31 + 1000


@pytest.mark.slow
def test_fill_of_more_than_2_31_elements():
    """A uint16-backed bfloat16 uniform fill of 2^31 + 1000 elements from a Generator holding a
    buffered half: its last 1000 elements equal an addressed fill of just the tail, its head and
    the elements around index 2^31 equal the reference model, and the Generator ends up where
    numpy would be after 2^31 + 1000 words."""
    kw = dict(low=-1.0, high=1.0, dtype="bfloat16")
    g = np.random.Generator(np.random.PCG64(2**31))
    g.random(1, dtype=np.float32)
    start = clone(g)
    state = ref.initial_state(g)

    out = np.empty(N, np.uint16)
    try:
        assert fastinit.uniform(out=out, rng=g, **kw) is out
        tail = fastinit.uniform(rng=start, global_shape=(N,), index=(slice(2**31, None),), **kw)
        assert tail.shape == (1000,)
        assert np.array_equal(out[2**31:], ref.bits(tail))
        assert start.bit_generator.state == state, "the block fill advanced the Generator"

        for sl in (slice(0, 1000), slice(2**31 - 8, 2**31 + 8), slice(N - 1000, N)):
            want, _ = ref.sample("uniform", rng=state, global_shape=(N,), index=(sl,), **kw)
            assert np.array_equal(out[sl], ref.bits(want)), f"elements {sl}"
        # spot checks spread over the whole buffer (a broken 64-bit offset shows anywhere)
        for i in np.linspace(0, N - 1, 17).astype(np.int64):
            want, _ = ref.sample("uniform", rng=state, global_shape=(N,),
                                 index=(slice(int(i), int(i) + 1),), **kw)
            assert out[i] == ref.bits(want)[0], f"element {i}"
    finally:
        del out
    assert g.bit_generator.state == ref.state_after(state, True, N)
