"""What the runner hands every implementation of a case, and what it gets back.

An implementation (`fastinit.bench.peers`, `fastinit.bench.limit`) turns a case and a
`_Workload` into a `_Prepared` fill, or raises `_Unavailable` when it cannot do that case.
"""

import math
from dataclasses import dataclass, field

import numpy as np


class _Unavailable(Exception):
    """This implementation cannot run this case (the reason is reported, not raised)."""


@dataclass
class _Workload:
    """What every implementation of a case works on."""
    buf: np.ndarray          # 1-D, warm, of the buffer dtype
    shape: tuple             # 2-D (out, in) shape the initializers see
    dtype: str               # "float32", ...
    fi_dtype: object         # dtype= for fastinit (None unless a raw uint16 buffer)
    threads: int
    fresh: bool              # allocate the result in the call instead of filling buf


@dataclass
class _Prepared:
    fn: object               # zero-argument callable doing one fill
    op: str                  # what is measured, for the report
    threads: object          # threads the implementation uses (int or a description)
    cleanup: object = None   # called once when the measurements are done
    compiles: bool = False   # the first call compiles (never kept as a timed sample)
    notes: list = field(default_factory=list)


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


def _buffer_dtype(name):
    """(numpy dtype of the buffer, dtype= to pass to fastinit or None)."""
    if name == "bfloat16":
        bf16 = _bfloat16()
        # Without ml_dtypes a raw uint16 buffer holds the bfloat16 bits.
        return (bf16, None) if bf16 is not None else (np.dtype(np.uint16), "bfloat16")
    return np.dtype(name), None


def _matrix_shape(n):
    """A 2-D (rows, cols) shape with n elements, as square as exact divisors allow."""
    if n < 4:
        return (n, 1)
    c = math.isqrt(n)
    while n % c:
        c -= 1
    return (n // c, c)


def _make_buffer(nbytes, dtype):
    bdt, fi_dtype = _buffer_dtype(dtype)
    n = nbytes // bdt.itemsize
    return np.empty(n, bdt), fi_dtype
