"""Initializers: ``fastinit.<initializer>(out=W)`` x dtype x size, W a warm (out, in) matrix."""

import numpy as np

from . import DTYPES, INITIALIZERS, SIZES, function, kwargs, warm_buffer


class Initializers:
    """The main initializers into a warm 2-D buffer, all cores.

    ``variance_scaling`` is the truncated-normal form (scale 1, fan_in). Skipped (asv:
    NotImplementedError) where this fastinit version lacks the function.
    """

    params = (INITIALIZERS, DTYPES, list(SIZES))
    param_names = ["initializer", "dtype", "size"]
    timeout = 600

    def setup(self, initializer, dtype, size):
        self.fn = function(initializer)
        self.out, fi_dtype = warm_buffer(SIZES[size], dtype)
        self.kw = kwargs(initializer, fi_dtype, rng=np.random.default_rng(0))

    def teardown(self, initializer, dtype, size):
        self.out = None

    def time_init(self, initializer, dtype, size):
        self.fn(out=self.out, **self.kw)
