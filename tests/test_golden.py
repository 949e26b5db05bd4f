"""Issue item 7 / DESIGN.md "Stream stability": golden values, pinned as bit patterns.

The first and last 4 elements (C order) of a (257, 129) fill with rng=12345, for every sampler x
dtype. The literals were generated from the reference model (tests/reference.py), not from
fastinit; both must reproduce them. Changing any of them is a breaking change of the stream
contract: it needs a version bump and a changelog line.
"""

import numpy as np
import pytest

import fastinit
import reference as ref

SHAPE = (257, 129)
SEED = 12345
CASES = [
    ("random", {}),
    ("uniform", dict(low=-0.5, high=2.0)),
    ("normal", dict(mean=0.25, std=2.0)),
    ("truncated_normal", dict(mean=-1.0, std=0.5, lower=-2.0, upper=1.5)),
    ("truncated_normal", dict(mean=0.0, std=1.0, lower=4.0, upper=6.0)),
]

# (case number, dtype): ((first 4), (last 4)) as raw bit patterns
GOLDEN = {
    (0, 'float32'): ((0x3f32ffc1, 0x3e68cac4, 0x3f49e4c4, 0x3ea22e26),
                   (0x3f383393, 0x3e14a6f4, 0x3f2bfeb0, 0x3d83c480)),
    (0, 'float64'): ((0x3fcd1958c6d97fe0, 0x3fd445c4c5727930, 0x3fe984049046889d, 0x3fe5a3e0d5d490dd),
                   (0x3fd1beca35721a72, 0x3fee28cd648c8fb1, 0x3fd36675d6de6cfe, 0x3fd6c00b4274ae68)),
    (0, 'float16'): ((0x3998, 0x3346, 0x3a4f, 0x3511),
                   (0x39c2, 0x30a5, 0x3960, 0x2c1e)),
    (0, 'bfloat16'): ((0x3f33, 0x3e69, 0x3f4a, 0x3ea2),
                    (0x3f38, 0x3e15, 0x3f2c, 0x3d84)),
    (1, 'float32'): ((0x3f9fbfb1, 0x3d8bf5d0, 0x3fbc5df5, 0x3e957360),
                   (0x3fa64078, 0xbe0c5e9e, 0x3f96fe5c, 0xbeada530)),
    (1, 'float64'): ((0x3fb17ebbe23f7f60, 0x3fd2ae6bed9e2ef8, 0x3ff7e505b4582ac4, 0x3ff30cd90b49b514),
                   (0x3fc8b9f30b3a8438, 0x3ffdb300bdafb39e, 0x3fd08026992c107c, 0x3fd8e01c2623b404)),
    (1, 'float16'): ((0x3cfe, 0x2c60, 0x3de3, 0x34ac),
                   (0x3d32, 0xb063, 0x3cb8, 0xb56d)),
    (1, 'bfloat16'): ((0x3fa0, 0x3d8c, 0x3fbc, 0x3e95),
                    (0x3fa6, 0xbe0c, 0x3f97, 0xbeae)),
    (2, 'float32'): ((0x3fa5ab3e, 0xbf9f65e8, 0x3fed3e8a, 0xbf341ce5),
                   (0x3fb4daff, 0xbfeeb0ba, 0x3f91ee37, 0xc0327969)),
    (2, 'float64'): ((0xbff3ecbd182949de, 0xbfe6839caf59835f, 0x3ffea1c6261f1e1e, 0x3ff2a1cccf416e28),
                   (0xbfedd2787ad1a236, 0x400b371205922bed, 0xbfe8fcb15c5fdb8a, 0xbfdf6f7ef0fbbde0)),
    (2, 'float16'): ((0x3d2d, 0xbcfb, 0x3f6a, 0xb9a1),
                   (0x3da7, 0xbf76, 0x3c8f, 0xc194)),
    (2, 'bfloat16'): ((0x3fa6, 0xbf9f, 0x3fed, 0xbf34),
                    (0x3fb5, 0xbfef, 0x3f92, 0xc032)),
    (3, 'float32'): ((0xbf4b6ef0, 0xbfaf5807, 0xbf2d5936, 0xbf9f8718),
                   (0xbf44e76c, 0xbfc0ff14, 0xbf54041e, 0xbfd95b46)),
    (3, 'float64'): ((0xbff5eb00d8e1c9d8, 0xbff3f0e2edbf4cb2, 0xbfe545f357c1d85e, 0xbfea54ce5c31ec60),
                   (0xbff4c70e5fbd45f0, 0xbfda44a5f04d791a, 0xbff43973a3475ef8, 0xbff329276ba5e977)),
    (3, 'float16'): ((0xba5b, 0xbd7b, 0xb96b, 0xbcfc),
                   (0xba27, 0xbe08, 0xbaa0, 0xbecb)),
    (3, 'bfloat16'): ((0xbf4b, 0xbfaf, 0xbf2d, 0xbfa0),
                    (0xbf45, 0xbfc1, 0xbf54, 0xbfd9)),
    (4, 'float32'): ((0x4088d288, 0x4081f097, 0x408b5112, 0x4082db0e),
                   (0x408951f7, 0x40812ecf, 0x40883357, 0x408080b2)),
    (4, 'float64'): ((0x40103e12c1bdeaf0, 0x40105b61c9182c4f, 0x401173932f7e3b61, 0x401109820e9ad00e),
                   (0x40104e0426c84a50, 0x401285c7fc3a9daa, 0x401056b01180effd, 0x401069376e670f0a)),
    (4, 'float16'): ((0x4447, 0x4410, 0x445b, 0x4417),
                   (0x444b, 0x4409, 0x4442, 0x4404)),
    (4, 'bfloat16'): ((0x4089, 0x4082, 0x408b, 0x4083),
                    (0x4089, 0x4081, 0x4088, 0x4081)),
}


def _check(values, dtype, case):
    first, last = GOLDEN[(case, dtype)]
    b = ref.bits(values).ravel()
    got_first = tuple(int(x) for x in b[:4])
    got_last = tuple(int(x) for x in b[-4:])
    w = 2 * np.asarray(values).dtype.itemsize
    fmt = lambda t: "(" + ", ".join(f"0x{x:0{w}x}" for x in t) + ")"  # noqa: E731
    assert got_first == first, f"first 4: got {fmt(got_first)}, pinned {fmt(first)}"
    assert got_last == last, f"last 4: got {fmt(got_last)}, pinned {fmt(last)}"


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{s}-{p}" for s, p in CASES])
def test_golden_values(case, dtype):
    sampler, params = CASES[case]
    want, _ = ref.sample(sampler, SHAPE, dtype=dtype, rng=SEED, **params)
    _check(want, dtype, case)                       # the model still says the same
    got = getattr(fastinit, sampler)(SHAPE, dtype=dtype, rng=SEED, **params)
    _check(got, dtype, case)                        # and so does the engine
    assert np.array_equal(ref.bits(got), ref.bits(want))


def test_golden_float64_random_is_numpys():
    """The pinned float64 `random` values are numpy's own default_rng(12345).random()."""
    x = np.random.default_rng(SEED).random(SHAPE)
    _check(x, "float64", 0)
    x = np.random.default_rng(SEED).random(SHAPE, dtype=np.float32)
    _check(x, "float32", 0)
