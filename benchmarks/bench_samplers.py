"""Samplers: warm ``out=`` fills (sampler x dtype x size) and fresh ``shape=`` fills."""

import numpy as np

from . import DTYPES, SAMPLERS, SIZES, drop_buffers, function, kwargs, warm_buffer


class Samplers:
    """``fastinit.<sampler>(out=buf)`` into a warm buffer, all cores."""

    params = (SAMPLERS, DTYPES, list(SIZES))
    param_names = ["sampler", "dtype", "size"]
    timeout = 600

    def setup(self, sampler, dtype, size):
        self.fn = function(sampler)
        self.out, fi_dtype = warm_buffer(SIZES[size], dtype)
        self.kw = kwargs(sampler, fi_dtype, rng=np.random.default_rng(0))

    def teardown(self, sampler, dtype, size):
        self.out = None

    def time_fill(self, sampler, dtype, size):
        self.fn(out=self.out, **self.kw)


class FreshFill:
    """``fastinit.<sampler>(shape)``: fastinit allocates the result (first touch of new pages).

    The result is released in teardown, outside the timing.
    """

    params = (["uniform", "normal", "truncated_normal"], ["1MiB", "256MiB", "1GiB"])
    param_names = ["sampler", "size"]
    timeout = 600

    def setup(self, sampler, size):
        drop_buffers()
        self.fn = function(sampler)
        self.shape = (SIZES[size] // 4,)
        self.kw = kwargs(sampler, None, rng=np.random.default_rng(0))
        self.result = None

    def teardown(self, sampler, size):
        self.result = None

    def time_shape_fill(self, sampler, size):
        self.result = self.fn(self.shape, **self.kw)
