"""Output dtypes: resolution of `dtype`/`out`, and representable bounds in each dtype."""

import math

import numpy as np

F32, F64, F16, BF16 = 0, 1, 2, 3
NAMES = {F32: "float32", F64: "float64", F16: "float16", BF16: "bfloat16"}
ITEMSIZE = {F32: 4, F64: 8, F16: 2, BF16: 2}


def bfloat16_dtype():
    """numpy dtype of ml_dtypes.bfloat16, or None when ml_dtypes is not installed."""
    try:
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


def _code_of_dtype(dtype, name="dtype"):
    """Code for a requested dtype (str, numpy dtype or scalar type)."""
    if isinstance(dtype, str) and dtype.lower() in ("bfloat16", "bf16"):
        return BF16
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32, float64, float16 or bfloat16, got {dtype!r}") from None
    if dt == np.float32:
        return F32
    if dt == np.float64:
        return F64
    if dt == np.float16:
        return F16
    if dt.name == "bfloat16" and dt.itemsize == 2:
        return BF16
    raise TypeError(f"{name} must be float32, float64, float16 or bfloat16, got {dt}")


def resolve(dtype, out_dtype):
    """The dtype code of a fill, given `dtype=` and the dtype of `out` (or None)."""
    if out_dtype is None:
        return F32 if dtype is None else _code_of_dtype(dtype)
    if out_dtype == np.uint16:
        # a raw 16-bit buffer: the caller says which half-precision format it holds
        if dtype is None:
            raise TypeError("out is a uint16 buffer: pass dtype='bfloat16' or dtype='float16' "
                            "to say what it holds")
        code = _code_of_dtype(dtype)
        if code not in (F16, BF16):
            raise TypeError(f"a uint16 out can hold float16 or bfloat16, not {NAMES[code]}")
        return code
    try:
        code = _code_of_dtype(out_dtype, name="out")
    except TypeError:
        raise TypeError(f"out must have a floating dtype (float32, float64, float16, bfloat16), "
                        f"got {out_dtype}") from None
    if dtype is not None and _code_of_dtype(dtype) != code:
        raise TypeError(f"dtype={dtype!r} does not match out.dtype={out_dtype}")
    return code


def numpy_dtype(code):
    """numpy dtype used to allocate a result of this code."""
    if code == BF16:
        dt = bfloat16_dtype()
        if dt is None:
            raise TypeError("dtype='bfloat16' needs the ml_dtypes package to allocate the result "
                            "(pip install ml_dtypes), or pass a uint16 array as out")
        return dt
    return np.dtype({F32: np.float32, F64: np.float64, F16: np.float16}[code])


# --- representable values -------------------------------------------------------------------

#: Largest finite value of each dtype.
MAX = {F32: 3.4028234663852886e38, F64: 1.7976931348623157e308, F16: 65504.0,
       BF16: 3.3895313892515355e38}


def arithmetic(code):
    """The dtype the kernels compute in for this output: float64 or float32."""
    return F64 if code == F64 else F32


#: Magnitudes from which round-to-nearest gives inf: the largest finite value plus half its ulp.
OVERFLOW = {F32: 2.0 ** 128 * (1 - 2.0 ** -25), F64: math.inf, F16: 65520.0,
            BF16: 2.0 ** 128 * (1 - 2.0 ** -9)}


def fits(code, x):
    """Whether the finite x rounds (to nearest) to a finite value of the dtype."""
    return abs(x) < OVERFLOW[code]


def _bf16_bits_to_float(b):
    return float(np.array(b & 0xFFFFFFFF, dtype=np.uint32).view(np.float32))


def _bf16_next(v, up):
    """The bfloat16 neighbour of the bfloat16 value v (as float64) above or below it."""
    if math.isinf(v):
        return v if (v > 0) == up else math.copysign(3.3895313892515355e38, v)
    if v == 0.0:
        return _bf16_bits_to_float(0x00010000 if up else 0x80010000)
    b = int(np.array(v, dtype=np.float32).view(np.uint32))
    return _bf16_bits_to_float(b + 0x10000 if (v > 0) == up else b - 0x10000)


def _bf16_round(x):
    """float64 -> nearest bfloat16 (ties to even), returned as float64."""
    with np.errstate(over="ignore"):
        f = np.array(x, dtype=np.float32)
    b = int(f.view(np.uint32))
    r = _bf16_bits_to_float(b & 0xFFFF0000)        # truncated toward zero
    if math.isinf(r) or r == x:
        return r
    other = _bf16_next(r, x > r)
    dr, do = abs(x - r), abs(x - other)
    if do < dr or (do == dr and (int(np.array(other, np.float32).view(np.uint32)) >> 16) % 2 == 0):
        return other
    return r


def _round(code, x):
    if code == BF16:
        return _bf16_round(x)
    t = {F32: np.float32, F64: np.float64, F16: np.float16}[code]
    with np.errstate(over="ignore"):
        return float(t(x))


def _next(code, v, up):
    if code == BF16:
        return _bf16_next(v, up)
    t = {F32: np.float32, F64: np.float64, F16: np.float16}[code]
    return float(np.nextafter(t(v), t(np.inf if up else -np.inf)))


def nearest(code, x):
    """The value of the dtype nearest to x (ties to even)."""
    return _round(code, x)


def ceil(code, x):
    """Smallest value of the dtype that is >= x."""
    v = _round(code, x)
    if v < x:
        v = _next(code, v, True)
    return v


def floor(code, x):
    """Largest value of the dtype that is <= x."""
    v = _round(code, x)
    if v > x:
        v = _next(code, v, False)
    return v


def below(code, x):
    """Largest value of the dtype that is < x."""
    v = _round(code, x)
    if v >= x:
        v = _next(code, v, False)
    return v
