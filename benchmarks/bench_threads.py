"""Thread scaling: 256 MiB float32 fills on 1, 2 and all usable cores."""

import numpy as np

import fastinit

from . import SIZES, function, kwargs, warm_buffer


def _threads(label):
    return fastinit.get_num_threads() if label == "all" else int(label)


class ThreadScaling:
    """``fastinit.<sampler>(out=buf, threads=t)``, 256 MiB float32 (2 on a 1-core machine
    oversubscribes; the values never depend on the thread count)."""

    params = (["uniform", "normal", "truncated_normal", "xavier_uniform"], ["1", "2", "all"])
    param_names = ["function", "threads"]
    timeout = 600

    def setup(self, name, threads):
        self.fn = function(name)
        self.out, fi_dtype = warm_buffer(SIZES["256MiB"], "float32")
        self.kw = kwargs(name, fi_dtype, rng=np.random.default_rng(0),
                         threads=_threads(threads))

    def teardown(self, name, threads):
        self.out = None

    def time_fill(self, name, threads):
        self.fn(out=self.out, **self.kw)
