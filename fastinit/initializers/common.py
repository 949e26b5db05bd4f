"""What every initializer shares: validating a call, the target it fills, writing values.

* argument checks (`_real`, `_positive`, `_choice`, `_int`) and the docstring fragments the
  public functions fill in (`_doc`);
* `_Target`: shape / out / dtype / global_shape / index of a call, validated before anything
  is written, then allocated (`_allocate`); the empty-tensor no-op (`_noop`); the block's
  global positions (`_full_index`, `_positions`);
* writing computed values into any target dtype (`_store`), in pieces on worker threads
  for large deterministic fills.
"""

import math
import numbers
import operator
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _dtypes, _engine, _layout, _rng

_EMPTY_MSG = "Initializing zero-element tensors is a no-op"
_CHUNK = 1 << 18           # elements per step of the numpy post-processing loops
_PARALLEL_MIN = 1 << 20    # deterministic fills below this size use one thread
_COPY_PIECE = 1 << 22      # elements per piece of a deterministic fill (a few ms each)

_COMMON_DOC = """\
out : array or writable buffer, optional
        Filled in place and returned. Any memory layout.
    dtype : dtype, optional
        float32 (default), float64, float16, bfloat16{complex_note}. With a uint16
        `out`, says which 16-bit format it holds.
    rng : None, int, SeedSequence or PCG64 Generator, optional
        As for the samplers (SPEC 7); a Generator is consumed as numpy would.
    threads : int, optional
        Threads for the fill; never changes the values.
    global_shape, index : tuple, optional
        Fill only the block `index` of a virtual tensor of `global_shape` (equal to the same
        slice of a full fill); the fans come from `global_shape`."""

_LAYOUT_DOC = """\
fan_in, fan_out : positive number, optional
        Use these instead of the fans computed from the shape. With the fans a scheme
        needs given, tensors of any number of dimensions are accepted.
    in_axis, out_axis, batch_axis, layout
        Where the inputs and outputs are; see `fastinit.compute_fans`. Default layout
        (out, in, \\*kernel) like PyTorch; ``layout='jax'`` for (\\*kernel, in, out)."""


def _doc(complex_ok=False, layout=False):
    def deco(fn):
        note = ", complex64, complex128" if complex_ok else ""
        text = fn.__doc__.replace("{common}", _COMMON_DOC.format(complex_note=note))
        if layout:
            text = text.replace("{layout}", _LAYOUT_DOC)
        fn.__doc__ = text
        return fn
    return deco


# --- argument checks ---------------------------------------------------------------------

def _real(x, name):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    return float(x)


def _positive(x, name):
    v = _real(x, name)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number, got {x}")
    return v


def _choice(x, name, allowed, aliases=None):
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a str, one of {list(allowed)}; got {type(x).__name__}")
    key = x.lower()
    if aliases and key in aliases:
        key = aliases[key]
    if key not in allowed:
        raise ValueError(f"invalid {name} {x!r}; expected one of {list(allowed)}")
    return key


def _int(x, name, minimum):
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        v = operator.index(x)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(x).__name__}") from None
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


# --- the target: shape / out / dtype / global_shape / index ------------------------------

class _Target:
    """What a call fills: validated, nothing written yet."""

    __slots__ = ("out", "arr", "bshape", "gshape", "code", "cdtype", "global_shape", "index")

    @property
    def empty(self):
        return math.prod(self.gshape) == 0


def _complex_dtype(dtype, arr):
    """numpy complex dtype of the fill, or None for a real one."""
    if arr is not None and arr.dtype.kind == "c":
        if arr.dtype not in (np.complex64, np.complex128):
            raise TypeError(f"out must be complex64 or complex128, got {arr.dtype}")
        if dtype is not None:
            try:
                same = np.dtype(dtype) == arr.dtype
            except TypeError:
                same = False
            if not same:
                raise TypeError(f"dtype={dtype!r} does not match out.dtype={arr.dtype}")
        return arr.dtype
    if dtype is None or isinstance(dtype, str) and dtype.lower() in ("bfloat16", "bf16"):
        return None
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return None                     # _dtypes.resolve gives the message
    if dt.kind != "c":
        return None
    if arr is not None:
        raise TypeError(f"dtype={dtype!r} does not match out.dtype={arr.dtype}")
    if dt not in (np.complex64, np.complex128):
        raise TypeError(f"dtype must be complex64 or complex128 for a complex fill, got {dt}")
    return dt


def _sampler_dtype(t):
    """The dtype= to hand a sampler for the real target `t`."""
    if t.arr is None:
        return _dtypes.numpy_dtype(t.code)
    if t.arr.dtype == np.uint16:
        return _dtypes.NAMES[t.code]
    return None


def _target(name, shape, out, dtype, global_shape, index, complex_ok=False):
    t = _Target()
    t.out = out
    t.arr = None if out is None else _layout.as_writable_array(out)
    t.bshape = _layout.block(shape, None if t.arr is None else t.arr.shape, global_shape,
                             index)[0]
    t.gshape = (t.bshape if global_shape is None
                else _layout.as_shape(global_shape, "global_shape"))
    t.global_shape, t.index = global_shape, index
    t.cdtype = _complex_dtype(dtype, t.arr)
    t.code = None
    if t.cdtype is not None:
        if not complex_ok:
            raise TypeError(f"{name} does not support complex dtypes (got {t.cdtype}); "
                            f"complex fills are offered by variance_scaling, the Xavier/He/"
                            f"LeCun schemes, constant, zeros, ones, eye and dirac")
    else:
        t.code = _dtypes.resolve(dtype, None if t.arr is None else t.arr.dtype)
    return t


def _check_rng_threads(rng, threads):
    """Validate rng and threads of a fill that draws nothing."""
    if rng is not None:
        _rng.resolve(rng)
    return _engine.resolve_threads(threads)

def _check_gain_fits(t, gain):
    """A gain that is written as a value (eye) or bounds the values (orthogonal, |q| <= 1)
    must be finite in the target dtype, as `constant` requires of its value."""
    code = t.code
    if t.cdtype is not None:
        code = _dtypes.F32 if t.cdtype == np.complex64 else _dtypes.F64
    if not _dtypes.fits(code, gain):
        name = t.cdtype if t.cdtype is not None else _dtypes.NAMES[t.code]
        raise ValueError(f"gain {gain!r} overflows {name} (largest finite value "
                         f"{_dtypes.MAX[code]:.8g})")



def _allocate(t):
    if t.arr is not None:
        return t.arr
    if t.cdtype is None:
        arr = _layout.allocate(t.bshape, t.code)
    else:
        if math.prod(t.bshape) * t.cdtype.itemsize >= 2**63:
            raise ValueError(f"shape {t.bshape} with dtype {t.cdtype} is too big: 2**63 bytes "
                             f"or more")
        arr = np.empty(t.bshape, t.cdtype)
    t.arr = t.out = arr
    return arr


def _caller_level():
    """stacklevel for warnings.warn that points at the first frame outside fastinit."""
    # the package's folder, with its subpackages (this module lives one level down)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root):
        frame, level = frame.f_back, level + 1
    return level


def _noop(t, rng, threads, warn=True):
    """Validate what is left, warn like PyTorch, and return `out` (or an empty array)."""
    _check_rng_threads(rng, threads)
    if warn:
        warnings.warn(_EMPTY_MSG, UserWarning, stacklevel=_caller_level())
    _allocate(t)
    return t.out


def _full_index(t):
    """`index` as a full-length tuple over the global axes (None without global_shape)."""
    if t.global_shape is None:
        return None
    ix = () if t.index is None else t.index
    if not isinstance(ix, tuple):
        ix = (ix,)
    return ix + (slice(None),) * (len(t.gshape) - len(ix))


def _positions(t):
    """Global position of the block along each global axis (ints give one position)."""
    ix = _full_index(t)
    if ix is None:
        return [np.arange(n) for n in t.gshape]
    pos = []
    for s, n in zip(ix, t.gshape):
        if isinstance(s, slice):
            pos.append(np.arange(*s.indices(n)))
        else:
            pos.append(np.array([operator.index(s) % n]))
    return pos


# --- writing computed values -------------------------------------------------------------

def _chunks(a, limit=_CHUNK):
    """Views of `a` (split along leading axes) with at most about `limit` elements each."""
    if a.ndim <= 1 or a.size <= limit:
        yield a
        return
    per = a[0].size
    if per > limit:
        for i in range(a.shape[0]):
            yield from _chunks(a[i], limit)
    else:
        step = max(1, limit // per)
        for i in range(0, a.shape[0], step):
            yield a[i:i + step]


def _bf16_bits(x):
    """float32 -> bfloat16 bit patterns, round to nearest even (finite inputs)."""
    b = np.asarray(x, np.float32).view(np.uint32)
    return ((b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1)))
            >> np.uint32(16)).astype(np.uint16)


def _typed_view(t):
    """(array to copy into, converter) for the target's storage."""
    arr = _allocate(t)
    if arr.dtype == np.uint16:
        if t.code == _dtypes.F16:
            return arr.view(np.float16), None
        bf = _dtypes.bfloat16_dtype()
        if bf is not None:
            return arr.view(bf), None
        return arr, _bf16_bits
    return arr, None


def _copy(dst, values, convert, nthreads):
    """np.copyto(dst, values) in pieces on worker threads (numpy drops the GIL).

    The caller waits for the pieces interruptibly: on Ctrl-C the pieces not started are
    cancelled and the running ones (a few milliseconds each) finish before it returns.
    """
    values = np.broadcast_to(values, dst.shape)

    def work(d, v):
        np.copyto(d, v if convert is None else convert(v), casting="unsafe")

    if dst.size < _PARALLEL_MIN or dst.ndim == 0:
        work(dst, values)
        return
    ax = int(np.argmax(dst.shape))
    n = dst.shape[ax]
    step = max(1, n * _COPY_PIECE // dst.size)
    parts = [(dst[(slice(None),) * ax + (slice(i, i + step),)],
              values[(slice(None),) * ax + (slice(i, i + step),)]) for i in range(0, n, step)]
    ex = ThreadPoolExecutor(max(1, min(nthreads, len(parts))))
    try:
        for f in [ex.submit(work, d, v) for d, v in parts]:
            f.result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def _store(t, values, nthreads=1):
    dst, convert = _typed_view(t)
    _copy(dst, values, convert, nthreads)
    return t.out
