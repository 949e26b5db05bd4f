r"""Weight initializers: variance scaling, Xavier/Glorot, He/Kaiming, LeCun/SELU, orthogonal, ...

Every function is a thin layer over the samplers (`fastinit.normal`, `fastinit.uniform`,
`fastinit.truncated_normal`, `fastinit.random`): it computes the fans (`fastinit.compute_fans`)
and the gain (`fastinit.calculate_gain`), turns them into one standard deviation or bound, and
fills with one sampler call. So every initializer inherits the stream contract: values depend
only on (rng state, global index, parameters, dtype width), never on `threads`, the memory
layout of `out` or the block split, and ``global_shape=``/``index=`` fill one block of a
larger tensor bit for bit (the fans then come from `global_shape`).

Conventions shared by every function here:

* `shape` first (or ``out=`` to fill in place, which is returned); keyword-only `dtype`
  (float32 by default; float64, float16, bfloat16; complex64/complex128 where noted), `rng`,
  `threads`, `global_shape`, `index`, exactly as the samplers take them.
* Weight layout (out, in, \*kernel) like PyTorch unless ``layout='jax'`` (\*kernel, in, out)
  or explicit `in_axis`/`out_axis`/`batch_axis`; ``fan_in=``/``fan_out=`` override the fans.
* A tensor with no elements (a zero-size axis in the global shape) is a no-op: a
  ``UserWarning("Initializing zero-element tensors is a no-op")`` as PyTorch's kaiming_*
  gives, and `out` is returned unchanged (all other arguments are still validated).
  `constant`, `zeros` and `ones` skip the warning (an empty constant fill is not suspicious).
* Every argument is validated before anything is written; a bad call leaves `out` untouched
  and a Generator unconsumed. A scale (fans, gain, scale) whose samples could leave the
  dtype's finite range is a ValueError naming those parameters (README, "Range").
* `*_normal` means the plain, untruncated normal of the papers and of PyTorch; the truncated
  normal of JAX/Keras (same variance) is ``variance_scaling(..., distribution='truncated_normal')``.
"""

import contextlib
import math
import numbers
import operator
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _dtypes, _engine, _layout, _linalg, _params, _rng, fans as _fans, samplers
from ..gains import calculate_gain

__all__ = [
    "variance_scaling",
    "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
    "lecun_uniform", "lecun_normal", "selu_normal",
    "orthogonal", "delta_orthogonal", "eye", "dirac", "sparse",
    "constant", "zeros", "ones",
]

#: Standard deviation of N(0, 1) truncated to [-2, 2] (JAX's constant): dividing the target
#: std by it makes the variance of the truncated samples exactly scale / fan.
TRUNCATED_STD = 0.87962566103423978
#: sqrt(E|z|^2) of a standard complex normal (E|z|^2 = 1) whose modulus is cut at 2:
#: |z|^2 ~ Exp(1) cut at 4, so E|z|^2 = 1 - 4 e^-4 / (1 - e^-4). (JAX divides by
#: 0.95311164380491208 instead, which leaves its variance 1.9 % above scale / fan.)
COMPLEX_TRUNCATED_STD = math.sqrt(1.0 - 4.0 * math.exp(-4.0) / -math.expm1(-4.0))

_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
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


# --- the random schemes ------------------------------------------------------------------

def _resolve_fans(t, need_in, need_out, fan_in, fan_out, in_axis, out_axis, batch_axis,
                  layout):
    fi = None if fan_in is None else _fans.check_fan(fan_in, "fan_in")
    fo = None if fan_out is None else _fans.check_fan(fan_out, "fan_out")
    if (not need_in or fi is not None) and (not need_out or fo is not None):
        _fans.resolve_layout(layout, in_axis, out_axis)      # still reject a bad layout
        return fi, fo
    return _fans.compute_fans(t.gshape, in_axis=in_axis, out_axis=out_axis,
                              batch_axis=batch_axis, layout=layout, fan_in=fi, fan_out=fo)


def _draw(t, distribution, std, rng, threads):
    """Fill the target with zero-mean samples of standard deviation `std`."""
    if t.cdtype is not None:
        return _draw_complex(t, distribution, std, rng, threads)
    kw = dict(out=t.out, dtype=_sampler_dtype(t), rng=rng, threads=threads,
              global_shape=t.global_shape, index=t.index)
    shape = t.bshape if t.out is None else None
    if distribution == "normal":
        return samplers.normal(shape, 0.0, std, **kw)
    if distribution == "truncated_normal":
        return samplers.truncated_normal(shape, 0.0, std / TRUNCATED_STD, -2.0, 2.0, **kw)
    bound = math.sqrt(3.0) * std
    return samplers.uniform(shape, -bound, bound, **kw)


def _draw_complex(t, distribution, std, rng, threads):
    """Complex fills through the real view (..., 2): element k's real part is word 2k."""
    arr = _allocate(t)
    real = np.float32 if arr.dtype == np.complex64 else np.float64
    rv = arr[..., None].view(real)
    ix = _full_index(t)
    kw = dict(out=rv, rng=rng, threads=threads,
              global_shape=None if ix is None else t.gshape + (2,),
              index=None if ix is None else ix + (slice(None),))
    if distribution == "normal":
        samplers.normal(None, 0.0, std / math.sqrt(2.0), **kw)
        return t.out
    samplers.random(None, **kw)
    # JAX's disk samplers: |z|^2 = 2 u (uniform disk of radius sqrt 2) or |z|^2 ~ Exp(1) cut
    # at 4 (truncated), angle 2 pi u'; both from the two uniforms of the element.
    for c in _chunks(rv):
        u = c[..., 0].astype(np.float64)
        theta = 2.0 * np.pi * c[..., 1].astype(np.float64)
        if distribution == "uniform":
            r = np.sqrt(2.0 * u) * std
        else:
            r = np.sqrt(-np.log1p(np.expm1(-4.0) * u)) * (std / COMPLEX_TRUNCATED_STD)
        c[..., 0] = r * np.cos(theta)
        c[..., 1] = r * np.sin(theta)
    return t.out


def _check_spread(t, distribution, std):
    """Raise ValueError when samples of this std cannot be represented in the target dtype
    (the samplers' range rule, applied to what `_draw` will ask of them)."""
    if t.cdtype is not None:
        code = _dtypes.F32 if t.cdtype == np.complex64 else _dtypes.F64
        if distribution == "normal":
            _params.normal(0.0, std / math.sqrt(2.0), -math.inf, math.inf, code)
            return
        # the modulus reaches sqrt(2) std (uniform disk) or 2 std / 0.96196 (truncated)
        reach = std * (math.sqrt(2.0) if distribution == "uniform"
                       else 2.0 / COMPLEX_TRUNCATED_STD)
        if not _dtypes.fits(code, reach):
            raise ValueError(f"values up to {reach:.8g} exceed {t.cdtype}'s range")
        return
    if distribution == "normal":
        _params.normal(0.0, std, -math.inf, math.inf, t.code)
    elif distribution == "truncated_normal":
        _params.normal(0.0, std / TRUNCATED_STD, -2.0, 2.0, t.code)
    else:
        bound = math.sqrt(3.0) * std
        _params.uniform(-bound, bound, t.code)


def _scheme(name, shape, std_of_fans, need, distribution, fan_kw, sampler_kw, complex_ok=True,
            inputs=""):
    """Shared body of the variance-scaling family.

    `inputs` names the caller's parameters that set the std besides the fans (for messages).
    """
    t = _target(name, shape, sampler_kw["out"], sampler_kw["dtype"], sampler_kw["global_shape"],
                sampler_kw["index"], complex_ok)
    rng, threads = sampler_kw["rng"], sampler_kw["threads"]
    # the fan arguments are validated even when there is nothing to fill
    if t.empty and len(t.gshape) < 2 and fan_kw["in_axis"] is None \
            and fan_kw["out_axis"] is None:
        # a 0/1-D empty tensor has no fans to compute (a no-op, as in PyTorch, whose
        # zero-element check comes first); its fan arguments are still checked
        _resolve_fans(t, False, False, **fan_kw)
        return _noop(t, rng, threads)
    fi, fo = _resolve_fans(t, need[0], need[1], **fan_kw)
    if t.empty:
        return _noop(t, rng, threads)
    std = std_of_fans(fi, fo)
    given = ", ".join([f"fan_in={fi}"] * need[0] + [f"fan_out={fo}"] * need[1]
                      + [inputs] * bool(inputs))
    if not (0.0 < std < math.inf):
        raise ValueError(f"{name}: {given} give a standard deviation of {std}, which is not a "
                         f"positive finite number")
    try:
        _check_spread(t, distribution, std)
    except ValueError as exc:
        raise ValueError(f"{name}: {given} give a standard deviation of {std:.8g}, too large "
                         f"for the dtype ({exc})") from None
    return _draw(t, distribution, std, rng, threads)


def _denominator(mode, fi, fo):
    if mode == "fan_in":
        return fi
    if mode == "fan_out":
        return fo
    if mode == "fan_avg":
        return (fi + fo) / 2.0
    return math.sqrt(fi * fo)


_NEEDS = {"fan_in": (True, False), "fan_out": (False, True), "fan_avg": (True, True),
          "fan_geo_avg": (True, True)}


@_doc(complex_ok=True, layout=True)
def variance_scaling(shape=None, scale=1.0, mode="fan_in", distribution="truncated_normal", *,
                     fan_in=None, fan_out=None, in_axis=None, out_axis=None, batch_axis=(),
                     layout=None, out=None, dtype=None, rng=None, threads=None,
                     global_shape=None, index=None):
    r"""Zero-mean samples with variance ``scale / n``, n set by the fans (JAX's semantics).

    .. math::

        \sigma^2 = \frac{\text{scale}}{n}, \qquad n = \begin{cases}
        \text{fan\_in} & \text{mode = 'fan\_in'} \\
        \text{fan\_out} & \text{mode = 'fan\_out'} \\
        (\text{fan\_in} + \text{fan\_out}) / 2 & \text{mode = 'fan\_avg'} \\
        \sqrt{\text{fan\_in} \cdot \text{fan\_out}} & \text{mode = 'fan\_geo\_avg'}
        \end{cases}

    * ``'truncated_normal'``: N(0, (sigma / 0.87962566103423978)^2) cut at +-2 of its own
      std, i.e. at +-2.2736 sigma; 0.8796... is the std of N(0, 1) truncated to [-2, 2], so
      the variance is exactly sigma^2 (as ``jax.nn.initializers.variance_scaling``).
    * ``'normal'`` (alias ``'untruncated_normal'``, Keras's name): N(0, sigma^2).
    * ``'uniform'``: U[-sqrt(3) sigma, sqrt(3) sigma).

    Complex dtypes (JAX's semantics, ``E|z|^2 = sigma^2``): ``'normal'`` draws each component
    from N(0, sigma^2 / 2); ``'uniform'`` draws uniformly on the disk of radius sqrt(2) sigma
    (``|z|^2 = 2 sigma^2 u``, angle ``2 pi u'``); ``'truncated_normal'`` draws a complex normal
    with ``|z|`` cut at 2 (before scaling) and rescales it so the variance is exactly sigma^2
    (JAX's constant 0.95311164380491208 leaves its variance 1.9 % high; fastinit uses the
    exact sqrt(1 - 4 e^-4 / (1 - e^-4)) = 0.96196...). Element k of a complex tensor uses stream
    words 2k (real part, or u) and 2k + 1 (imaginary part, or u').

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    scale : float
        Positive finite scaling factor (2.0 for He, 1.0 for LeCun/Glorot).
    mode : {'fan_in', 'fan_out', 'fan_avg', 'fan_geo_avg'}
    distribution : {'truncated_normal', 'normal', 'uniform'}
    {layout}
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    References
    ----------
    Glorot & Bengio (2010); He et al. (2015); LeCun et al. (1998): see `xavier_uniform`,
    `he_normal`, `lecun_normal`.

    Examples
    --------
    >>> import fastinit
    >>> w = fastinit.variance_scaling((3, 3, 64, 128), 2.0, "fan_in", "truncated_normal",
    ...                               layout="jax", rng=0)     # Flax/Keras he_normal
    >>> bool(abs(w.std() / (2 / 576) ** 0.5 - 1) < 0.01)
    True
    """
    scale = _positive(scale, "scale")
    mode = _choice(mode, "mode", _MODES)
    distribution = _choice(distribution, "distribution", _DISTRIBUTIONS,
                           {"untruncated_normal": "normal"})
    return _scheme("variance_scaling", shape,
                   lambda fi, fo: math.sqrt(scale / _denominator(mode, fi, fo)),
                   _NEEDS[mode], distribution,
                   dict(fan_in=fan_in, fan_out=fan_out, in_axis=in_axis, out_axis=out_axis,
                        batch_axis=batch_axis, layout=layout),
                   dict(out=out, dtype=dtype, rng=rng, threads=threads,
                        global_shape=global_shape, index=index),
                   inputs=f"scale={scale}, mode={mode!r}")


def _xavier(name, distribution, shape, gain, fan_kw, sampler_kw):
    gain = _positive(gain, "gain")
    return _scheme(name, shape, lambda fi, fo: gain * math.sqrt(2.0 / (fi + fo)),
                   (True, True), distribution, fan_kw, sampler_kw, inputs=f"gain={gain}")


@_doc(complex_ok=True, layout=True)
def xavier_uniform(shape=None, gain=1.0, *, fan_in=None, fan_out=None, in_axis=None,
                   out_axis=None, batch_axis=(), layout=None, out=None, dtype=None, rng=None,
                   threads=None, global_shape=None, index=None):
    r"""Xavier/Glorot uniform: U[-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Glorot & Bengio (2010) balance the forward and backward variances with
    Var(W) = 2 / (fan_in + fan_out); a uniform of that variance has bound
    :math:`a = \text{gain}\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`. Same as
    ``torch.nn.init.xavier_uniform_`` and ``jax.nn.initializers.glorot_uniform`` (gain 1).
    Alias: `glorot_uniform`.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    gain : float
        Positive finite factor on the std (see `calculate_gain`).
    {layout}
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    References
    ----------
    X. Glorot, Y. Bengio (2010), "Understanding the difficulty of training deep feedforward
    neural networks", AISTATS.

    Examples
    --------
    >>> import fastinit
    >>> w = fastinit.xavier_uniform((256, 128), rng=0)
    >>> bool(abs(w).max() < (6 / 384) ** 0.5)
    True
    """
    return _xavier("xavier_uniform", "uniform", shape, gain,
                   dict(fan_in=fan_in, fan_out=fan_out, in_axis=in_axis, out_axis=out_axis,
                        batch_axis=batch_axis, layout=layout),
                   dict(out=out, dtype=dtype, rng=rng, threads=threads,
                        global_shape=global_shape, index=index))


@_doc(complex_ok=True, layout=True)
def xavier_normal(shape=None, gain=1.0, *, fan_in=None, fan_out=None, in_axis=None,
                  out_axis=None, batch_axis=(), layout=None, out=None, dtype=None, rng=None,
                  threads=None, global_shape=None, index=None):
    r"""Xavier/Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)), untruncated.

    :math:`\sigma = \text{gain}\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`
    (Glorot & Bengio 2010). Same as ``torch.nn.init.xavier_normal_``. JAX's and Keras's
    ``glorot_normal`` are *truncated* at +-2 std with the variance corrected; for those use
    ``variance_scaling(shape, 1.0, 'fan_avg', 'truncated_normal')``. Alias: `glorot_normal`.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    gain : float
        Positive finite factor on the std (see `calculate_gain`).
    {layout}
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    References
    ----------
    X. Glorot, Y. Bengio (2010), "Understanding the difficulty of training deep feedforward
    neural networks", AISTATS.
    """
    return _xavier("xavier_normal", "normal", shape, gain,
                   dict(fan_in=fan_in, fan_out=fan_out, in_axis=in_axis, out_axis=out_axis,
                        batch_axis=batch_axis, layout=layout),
                   dict(out=out, dtype=dtype, rng=rng, threads=threads,
                        global_shape=global_shape, index=index))


def _he(name, distribution, shape, a, mode, nonlinearity, fan_kw, sampler_kw):
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, 'fan_in' or 'fan_out'; got {type(mode).__name__}")
    m = mode.lower()
    if m not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    try:
        gain = calculate_gain(nonlinearity, a)
    except ValueError as exc:
        if nonlinearity == "leaky_relu":
            raise ValueError(f"a={a!r} (the negative slope of leaky_relu): {exc}") from None
        raise
    return _scheme(name, shape, lambda fi, fo: gain / math.sqrt(fi if m == "fan_in" else fo),
                   _NEEDS[m], distribution, fan_kw, sampler_kw,
                   inputs=f"gain={gain:.8g} (a={a}, nonlinearity={nonlinearity!r})")


@_doc(complex_ok=True, layout=True)
def he_uniform(shape=None, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, fan_in=None,
               fan_out=None, in_axis=None, out_axis=None, batch_axis=(), layout=None, out=None,
               dtype=None, rng=None, threads=None, global_shape=None, index=None):
    r"""He/Kaiming uniform: U[-b, b) with b = gain * sqrt(3 / fan_mode).

    He et al. (2015) keep the forward variance of ReLU networks with Var(W) = 2 / fan_in
    (mode ``'fan_in'``), or the backward variance with 2 / fan_out (``'fan_out'``). In
    general :math:`b = \text{gain}\sqrt{3 / \text{fan\_mode}}` with
    ``gain = calculate_gain(nonlinearity, a)``; the defaults (a = 0, ``'leaky_relu'``) give
    gain sqrt(2). Same as ``torch.nn.init.kaiming_uniform_`` and, with the defaults,
    ``jax.nn.initializers.he_uniform``. Alias: `kaiming_uniform`.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    a : float
        Negative slope of the rectifier (used with ``'leaky_relu'`` only).
    mode : {'fan_in', 'fan_out'}
        Case-insensitive, as in PyTorch.
    nonlinearity : str
        A name `calculate_gain` accepts.
    {layout}
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun (2015), "Delving deep into rectifiers: surpassing
    human-level performance on ImageNet classification", ICCV.
    """
    return _he("he_uniform", "uniform", shape, a, mode, nonlinearity,
               dict(fan_in=fan_in, fan_out=fan_out, in_axis=in_axis, out_axis=out_axis,
                    batch_axis=batch_axis, layout=layout),
               dict(out=out, dtype=dtype, rng=rng, threads=threads,
                    global_shape=global_shape, index=index))


@_doc(complex_ok=True, layout=True)
def he_normal(shape=None, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, fan_in=None,
              fan_out=None, in_axis=None, out_axis=None, batch_axis=(), layout=None, out=None,
              dtype=None, rng=None, threads=None, global_shape=None, index=None):
    r"""He/Kaiming normal: N(0, std^2), std = gain / sqrt(fan_mode), untruncated.

    :math:`\sigma = \text{gain} / \sqrt{\text{fan\_mode}}` with
    ``gain = calculate_gain(nonlinearity, a)`` (sqrt(2) by default, so Var = 2 / fan_in,
    He et al. 2015). Same as ``torch.nn.init.kaiming_normal_``. JAX's and Keras's
    ``he_normal`` are *truncated* (variance corrected): for those use
    ``variance_scaling(shape, 2.0, 'fan_in', 'truncated_normal')``. Alias: `kaiming_normal`.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    a : float
        Negative slope of the rectifier (used with ``'leaky_relu'`` only).
    mode : {'fan_in', 'fan_out'}
        Case-insensitive, as in PyTorch.
    nonlinearity : str
        A name `calculate_gain` accepts.
    {layout}
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    References
    ----------
    K. He, X. Zhang, S. Ren, J. Sun (2015), "Delving deep into rectifiers: surpassing
    human-level performance on ImageNet classification", ICCV.
    """
    return _he("he_normal", "normal", shape, a, mode, nonlinearity,
               dict(fan_in=fan_in, fan_out=fan_out, in_axis=in_axis, out_axis=out_axis,
                    batch_axis=batch_axis, layout=layout),
               dict(out=out, dtype=dtype, rng=rng, threads=threads,
                    global_shape=global_shape, index=index))


def _lecun(name, distribution, shape, fan_kw, sampler_kw):
    return _scheme(name, shape, lambda fi, fo: 1.0 / math.sqrt(fi), (True, False),
                   distribution, fan_kw, sampler_kw)


@_doc(complex_ok=True, layout=True)
def lecun_uniform(shape=None, *, fan_in=None, fan_out=None, in_axis=None, out_axis=None,
                  batch_axis=(), layout=None, out=None, dtype=None, rng=None, threads=None,
                  global_shape=None, index=None):
    r"""LeCun uniform: U[-b, b) with b = sqrt(3 / fan_in), so Var(W) = 1 / fan_in.

    LeCun et al. (1998) recommend weights of zero mean and std
    :math:`1/\sqrt{\text{fan\_in}}`. Same as ``jax.nn.initializers.lecun_uniform`` and
    ``keras.initializers.LecunUniform``.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    {layout}
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    References
    ----------
    Y. LeCun, L. Bottou, G. Orr, K.-R. Mueller (1998), "Efficient BackProp", in Neural
    Networks: Tricks of the Trade.
    """
    return _lecun("lecun_uniform", "uniform", shape,
                  dict(fan_in=fan_in, fan_out=fan_out, in_axis=in_axis, out_axis=out_axis,
                       batch_axis=batch_axis, layout=layout),
                  dict(out=out, dtype=dtype, rng=rng, threads=threads,
                       global_shape=global_shape, index=index))


@_doc(complex_ok=True, layout=True)
def lecun_normal(shape=None, *, fan_in=None, fan_out=None, in_axis=None, out_axis=None,
                 batch_axis=(), layout=None, out=None, dtype=None, rng=None, threads=None,
                 global_shape=None, index=None):
    r"""LeCun normal: N(0, 1 / fan_in), **untruncated** (the paper's form).

    :math:`\sigma = 1/\sqrt{\text{fan\_in}}` (LeCun et al. 1998). fastinit's choice: the
    plain normal of the paper, like every ``*_normal`` here. JAX's, Flax's (the default
    Dense/Conv kernel initializer) and Keras's ``lecun_normal`` draw a *truncated* normal
    (cut at +-2 std, variance corrected to the same 1 / fan_in): to reproduce those use
    ``variance_scaling(shape, 1.0, 'fan_in', 'truncated_normal', layout='jax')``.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    {layout}
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    References
    ----------
    Y. LeCun, L. Bottou, G. Orr, K.-R. Mueller (1998), "Efficient BackProp", in Neural
    Networks: Tricks of the Trade.
    """
    return _lecun("lecun_normal", "normal", shape,
                  dict(fan_in=fan_in, fan_out=fan_out, in_axis=in_axis, out_axis=out_axis,
                       batch_axis=batch_axis, layout=layout),
                  dict(out=out, dtype=dtype, rng=rng, threads=threads,
                       global_shape=global_shape, index=index))


@_doc(complex_ok=True, layout=True)
def selu_normal(shape=None, *, fan_in=None, fan_out=None, in_axis=None, out_axis=None,
                batch_axis=(), layout=None, out=None, dtype=None, rng=None, threads=None,
                global_shape=None, index=None):
    r"""Initialization for SELU networks: LeCun normal, N(0, 1 / fan_in), untruncated.

    Klambauer et al. (2017) derive the self-normalizing fixed point (mean 0, variance 1)
    of SELU activations for weights with sum 0 and variance 1 / fan_in: the LeCun normal.
    Identical to `lecun_normal` (same values for the same rng). In PyTorch this is
    ``kaiming_normal_(w, nonlinearity='linear')`` (not ``'selu'``, whose gain 3/4 is
    another choice, see `calculate_gain`).

    Parameters
    ----------
    shape : int or tuple of ints, optional
        Shape of the result when `out` is not given.
    {layout}
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    References
    ----------
    G. Klambauer, T. Unterthiner, A. Mayr, S. Hochreiter (2017), "Self-Normalizing Neural
    Networks", NeurIPS.
    """
    return _lecun("selu_normal", "normal", shape,
                  dict(fan_in=fan_in, fan_out=fan_out, in_axis=in_axis, out_axis=out_axis,
                       batch_axis=batch_axis, layout=layout),
                  dict(out=out, dtype=dtype, rng=rng, threads=threads,
                       global_shape=global_shape, index=index))


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


# --- orthogonal ----------------------------------------------------------------------------

@contextlib.contextmanager
def _committed_stream(rng):
    """An rng to draw from now whose consumption reaches a caller's Generator only when the
    block completes: a fill that draws everything before it writes (the QR of `orthogonal`)
    leaves the Generator as it was if it fails or is interrupted before writing.

    The Generator's lock is held throughout, so that threads sharing it still each get
    their own piece of the stream.
    """
    bg = rng.bit_generator if isinstance(rng, np.random.Generator) else (
        rng if type(rng) is np.random.PCG64 else None)
    if bg is None:
        yield rng
        return
    with bg.lock:
        private = np.random.PCG64(0)
        private.state = bg.state
        yield private
        bg.state = private.state


def _orthogonal_matrix(gshape, column_axis, code, rng, threads, block):
    """The orthogonal tensor of shape `gshape` (float32, or float64 for float64 fills).

    The (m, n) matrix is filled in C order with N(0, 1) by `fastinit.normal`, decomposed as
    QR (of its transpose when m < n) and Q's columns multiplied by sign(diag(R)).
    """
    real = np.float64 if code == _dtypes.F64 else np.float32
    if column_axis is None:
        m = gshape[0]
        n = math.prod(gshape[1:])
        moved = gshape
    else:
        n = gshape[column_axis]
        m = math.prod(gshape) // n
        moved = gshape[:column_axis] + gshape[column_axis + 1:] + (n,)
    a = samplers.normal((m, n), dtype=real, rng=rng, threads=threads,
                        global_shape=(m, n) if block else None)
    tall = m >= n
    q, r = _linalg.qr(a if tall else a.T)
    # Mezzadri (2007): fixing the signs of diag(R) makes Q Haar-distributed. sign(0) is
    # taken as +1 (PyTorch's sign() would zero that column; probability zero anyway).
    q *= np.where(np.diagonal(r) < 0, -1, 1).astype(q.dtype)
    q = (q if tall else q.T).reshape(moved)
    if column_axis is not None:
        q = np.moveaxis(q, -1, column_axis)
    return q


@_doc()
def orthogonal(shape=None, gain=1.0, *, column_axis=None, out=None, dtype=None, rng=None,
               threads=None, global_shape=None, index=None):
    r"""A (semi-)orthogonal matrix, reshaped to `shape`, times `gain` (Saxe et al. 2014).

    PyTorch's convention by default: the tensor is read as a matrix W of
    rows = shape[0] by cols = prod(shape[1:]). W is filled with N(0, 1) by `fastinit.normal`
    (in C order), factored as W = QR (W^T = QR when rows < cols), and each column of Q is
    multiplied by the sign of the matching diagonal entry of R, so that diag(R) > 0 and Q is
    uniformly (Haar) distributed (Mezzadri 2007). The result is gain * Q (gain * Q^T when
    rows < cols): orthonormal columns when rows >= cols, orthonormal rows otherwise.

    With ``column_axis=k`` (JAX's convention, ``jax.nn.initializers.orthogonal`` uses
    k = -1): the matrix is n_rows = prod(other axes) by n_cols = shape[k], built from the
    tensor with axis k moved last, and moved back afterwards.

    Computed in float64 for float64 and in float32 otherwise (float16/bfloat16 are rounded
    from the float32 result). The whole matrix is computed even for a block
    (``global_shape=``/``index=``), so that the block equals the slice of the full result;
    a Generator is consumed (rows * cols normal draws) only by a full fill.

    Parameters
    ----------
    shape : int or tuple of ints, optional
        At least 2-D.
    gain : float
        Positive finite multiplier.
    column_axis : int, optional
        None (default): rows = shape[0] as in ``torch.nn.init.orthogonal_``; an int: JAX's
        column axis.
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        ``"Only tensors with 2 or more dimensions are supported"`` (PyTorch's message).
    TypeError
        A complex dtype (not supported).

    References
    ----------
    A. Saxe, J. McClelland, S. Ganguli (2014), "Exact solutions to the nonlinear dynamics of
    learning in deep linear neural networks", ICLR. F. Mezzadri (2007), "How to generate
    random matrices from the classical compact groups", Notices of the AMS.

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> w = fastinit.orthogonal((64, 32), rng=0, dtype=np.float64)
    >>> bool(np.allclose(w.T @ w, np.eye(32)))
    True
    """
    gain = _positive(gain, "gain")
    t = _target("orthogonal", shape, out, dtype, global_shape, index)
    _check_gain_fits(t, gain)
    if len(t.gshape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    ax = None
    if column_axis is not None:
        ax = _int(column_axis, "column_axis", -len(t.gshape))
        if ax >= len(t.gshape):
            raise ValueError(f"column_axis={column_axis} is out of range for a "
                             f"{len(t.gshape)}-dimensional shape")
        ax %= len(t.gshape)
    if t.empty:
        return _noop(t, rng, threads)
    nthreads = _check_rng_threads(rng, threads)
    with _committed_stream(rng) as stream:
        return _orthogonal_store(t, ax, stream, threads, nthreads, gain, global_shape)


def _orthogonal_store(t, ax, rng, threads, nthreads, gain, global_shape):
    q = _orthogonal_matrix(t.gshape, ax, t.code, rng, threads, global_shape is not None)
    ix = _full_index(t)
    if ix is not None:
        q = q[ix]
    q = q * q.dtype.type(gain)
    return _store(t, q, nthreads)


@_doc()
def delta_orthogonal(shape=None, gain=1.0, *, layout=None, out=None, dtype=None, rng=None,
                     threads=None, global_shape=None, index=None):
    r"""Delta-orthogonal conv kernel (Xiao et al. 2018): orthogonal at the centre, 0 elsewhere.

    For a 1-, 2- or 3-D convolution kernel of ``out`` output and ``in`` input channels
    (in <= out), the spatial centre tap ((k - 1) // 2 along each kernel axis, as JAX) holds
    ``gain * orthogonal((out, in))`` (orthonormal columns, drawn as `orthogonal` draws it
    from the same `rng`) and every other tap is 0, so the convolution is an isometry at
    initialization. Same construction as ``jax.nn.initializers.delta_orthogonal``.

    Parameters
    ----------
    shape : tuple of ints, optional
        3-D, 4-D or 5-D.
    gain : float
        Positive finite multiplier.
    layout : {'torch', 'jax'}, optional
        ``'torch'`` (default): (out, in, \*kernel); ``'jax'`` (or ``'flax'``, ``'keras'``,
        ``'tensorflow'``): (\*kernel, in, out), where the centre holds the transpose, so the
        two layouts give the same kernel for the same rng.
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        A shape that is not 3-, 4- or 5-D, or has more input than output channels.

    References
    ----------
    L. Xiao, Y. Bahri, J. Sohl-Dickstein, S. Schoenholz, J. Pennington (2018), "Dynamical
    isometry and a mean field theory of CNNs", ICML.
    """
    gain = _positive(gain, "gain")
    key = _fans.resolve_layout(layout, None, None)[0]
    t = _target("delta_orthogonal", shape, out, dtype, global_shape, index)
    _check_gain_fits(t, gain)
    nd = len(t.gshape)
    if nd not in (3, 4, 5):
        raise ValueError(f"delta_orthogonal needs a 3-D, 4-D or 5-D shape, got {t.gshape}")
    jaxlike = key != "torch"
    o_ax, i_ax = (nd - 1, nd - 2) if jaxlike else (0, 1)
    k_axes = tuple(range(nd - 2)) if jaxlike else tuple(range(2, nd))
    n_out, n_in = t.gshape[o_ax], t.gshape[i_ax]
    if n_in > n_out:
        raise ValueError(f"delta_orthogonal needs in channels <= out channels, got in={n_in}, "
                         f"out={n_out} (shape {t.gshape}, layout {key!r})")
    if t.empty:
        return _noop(t, rng, threads)
    nthreads = _check_rng_threads(rng, threads)
    with _committed_stream(rng) as stream:
        return _delta_orthogonal_store(t, stream, threads, nthreads, gain, global_shape, jaxlike,
                                       o_ax, i_ax, k_axes, n_out, n_in)


def _delta_orthogonal_store(t, rng, threads, nthreads, gain, global_shape, jaxlike, o_ax, i_ax,
                            k_axes, n_out, n_in):
    nd = len(t.gshape)
    q = _orthogonal_matrix((n_out, n_in), None, t.code, rng, threads, global_shape is not None)
    q = q * q.dtype.type(gain)
    pos = _positions(t)
    lens = [len(p) for p in pos]
    vals = q[np.ix_(pos[o_ax], pos[i_ax])]          # (out, in) positions of the block
    if jaxlike:
        vals = vals.T
    vals = vals.reshape([lens[a] if a in (o_ax, i_ax) else 1 for a in range(nd)])
    for ax in k_axes:
        centre = (pos[ax] == (t.gshape[ax] - 1) // 2).astype(q.dtype)
        vals = vals * centre.reshape([-1 if a == ax else 1 for a in range(nd)])
    vals = np.broadcast_to(vals, lens).reshape(t.bshape)
    return _store(t, vals, nthreads)


# --- deterministic structures --------------------------------------------------------------

@_doc(complex_ok=True)
def eye(shape=None, gain=1.0, *, out=None, dtype=None, rng=None, threads=None,
        global_shape=None, index=None):
    r"""The identity matrix (times `gain`) of a 2-D shape: W[i, j] = gain if i == j else 0.

    Non-square shapes get ones on the main diagonal, as ``torch.nn.init.eye_`` and
    ``keras.initializers.Identity(gain)``. `rng` is validated and not used.

    Parameters
    ----------
    shape : tuple of 2 ints, optional
    gain : float
        Finite value on the diagonal.
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        ``"Only tensors with 2 dimensions are supported"`` (PyTorch's message).
    """
    g = _real(gain, "gain")
    if not math.isfinite(g):
        raise ValueError(f"gain must be finite, got {gain}")
    t = _target("eye", shape, out, dtype, global_shape, index, complex_ok=True)
    _check_gain_fits(t, g)
    if len(t.gshape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    if t.empty:
        return _noop(t, rng, threads)
    nthreads = _check_rng_threads(rng, threads)
    r, c = _positions(t)
    vals = np.where(r[:, None] == c[None, :], g, 0.0).reshape(t.bshape)
    return _store(t, vals, nthreads)


@_doc(complex_ok=True)
def dirac(shape=None, groups=1, *, layout=None, out=None, dtype=None, rng=None, threads=None,
          global_shape=None, index=None):
    r"""Dirac delta kernel: convolutions initialized with it pass their input through.

    As ``torch.nn.init.dirac_``: with ``opg = out // groups`` output channels per group,
    ``W[o, i, *centre] = 1`` when ``i == o % opg`` (i.e. output d of each group copies input d,
    for d < min(opg, in)), 0 elsewhere; the centre is k // 2 along each kernel axis.
    `rng` is validated and not used.

    Parameters
    ----------
    shape : tuple of ints, optional
        3-D, 4-D or 5-D (1-, 2-, 3-D convolution).
    groups : int
        Number of groups of the convolution; must divide the output channels.
    layout : {'torch', 'jax'}, optional
        ``'torch'`` (default): (out, in, \*kernel); ``'jax'``: (\*kernel, in, out).
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        ``"Only tensors with 3, 4, or 5 dimensions are supported"``, ``"dim 0 must be
        divisible by groups"`` (PyTorch's messages; the jax layout names the last axis).
    """
    groups = _int(groups, "groups", 1)
    key = _fans.resolve_layout(layout, None, None)[0]
    t = _target("dirac", shape, out, dtype, global_shape, index, complex_ok=True)
    nd = len(t.gshape)
    if nd not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    jaxlike = key != "torch"
    o_ax, i_ax = (nd - 1, nd - 2) if jaxlike else (0, 1)
    k_axes = tuple(range(nd - 2)) if jaxlike else tuple(range(2, nd))
    if t.gshape[o_ax] % groups:
        raise ValueError("dim 0 must be divisible by groups" if not jaxlike else
                         f"the output channels (last axis, {t.gshape[o_ax]}) must be "
                         f"divisible by groups ({groups})")
    if t.empty:
        return _noop(t, rng, threads)
    nthreads = _check_rng_threads(rng, threads)
    opg = t.gshape[o_ax] // groups
    pos = _positions(t)

    def along(ax, v):
        return v.reshape([-1 if a == ax else 1 for a in range(nd)])

    hit = along(i_ax, pos[i_ax]) == along(o_ax, pos[o_ax] % opg)
    for ax in k_axes:
        hit = hit & along(ax, pos[ax] == t.gshape[ax] // 2)
    vals = np.broadcast_to(hit, [len(p) for p in pos]).reshape(t.bshape)
    return _store(t, vals.astype(np.float32), nthreads)


@_doc()
def sparse(shape=None, sparsity=None, std=0.01, *, out=None, dtype=None, rng=None,
           threads=None, global_shape=None, index=None):
    r"""Sparse 2-D matrix (Martens 2010): N(0, std^2), with ceil(sparsity * rows) zeros per column.

    As ``torch.nn.init.sparse_``, but reproducible from `rng` alone (PyTorch draws the zero
    positions with ``torch.randperm`` from the global generator). With n = rows * cols:

    1. the values are ``fastinit.normal(shape, 0, std)``: stream words 0 .. n - 1;
    2. the keys are ``fastinit.random(shape)`` (float32 keys, float64 for float64 fills):
       stream words n .. 2n - 1, i.e. the next n words;
    3. in each column, the ceil(sparsity * rows) rows with the smallest keys (ties to the
       lower row) are set to 0 — a uniformly random subset, as a random permutation gives.

    A full fill consumes 2n words of a Generator; a block fill (``global_shape=``) reads the
    same words and consumes none, and computes the keys of its whole columns.

    Parameters
    ----------
    shape : tuple of 2 ints, optional
    sparsity : float
        Fraction of each column set to zero, in [0, 1]. Required.
    std : float
        Standard deviation of the non-zero values (>= 0).
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.

    Raises
    ------
    ValueError
        ``"Only tensors with 2 dimensions are supported"`` (PyTorch's message); a sparsity
        outside [0, 1].

    References
    ----------
    J. Martens (2010), "Deep learning via Hessian-free optimization", ICML.
    """
    if sparsity is None:
        raise TypeError("sparse() missing required argument 'sparsity'")
    sp = _real(sparsity, "sparsity")
    if not 0.0 <= sp <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    t = _target("sparse", shape, out, dtype, global_shape, index)
    if len(t.gshape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    _check_std(std)
    _params.normal(0.0, float(std), -math.inf, math.inf, t.code)    # the values' range
    if t.empty:
        return _noop(t, rng, threads)
    rows, cols = t.gshape
    nzero = math.ceil(sp * rows)
    key_dtype = np.float64 if t.code == _dtypes.F64 else np.float32
    _engine.resolve_threads(threads)
    _rng.resolve(rng)                       # type checks and messages, nothing consumed
    # One Generator for both draws (an int seed must not restart the stream for the keys).
    stream = rng if isinstance(rng, np.random.Generator) else np.random.Generator(
        rng if type(rng) is np.random.PCG64 else np.random.PCG64(rng))
    kw = dict(out=t.out, dtype=_sampler_dtype(t), rng=stream, threads=threads)
    shape_arg = t.bshape if t.out is None else None
    if global_shape is None:
        res = samplers.normal(shape_arg, 0.0, std, **kw)
        keys = samplers.random((rows, cols), dtype=key_dtype, rng=stream, threads=threads)
        zero = _lowest(keys, nzero)
    else:
        ri, ci = _full_index(t)
        res = samplers.normal(shape_arg, 0.0, std, global_shape=(2, rows, cols),
                              index=(0, ri, ci), **kw)
        keys = samplers.random(None, dtype=key_dtype, rng=stream, threads=threads,
                               global_shape=(2, rows, cols), index=(1, slice(None), ci))
        zero = _lowest(keys.reshape(rows, -1), nzero)
        zero = zero[ri] if isinstance(ri, slice) else zero[operator.index(ri) % rows]
        zero = zero.reshape(t.bshape)
    arr = _layout.as_writable_array(res)
    arr[zero] = 0          # +0.0 has all bits 0 in every float format, uint16 buffers too
    return res


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


def _check_std(std):
    s = _real(std, "std")
    if not math.isfinite(s):
        raise ValueError(f"std must be finite, got {std}")
    if s < 0:
        raise ValueError(f"std must be >= 0, got {std}")


def _lowest(keys, k):
    """Boolean mask of the k smallest keys of each column (stable: ties to the lower row)."""
    mask = np.zeros(keys.shape, dtype=bool)
    if k:
        order = np.argsort(keys, axis=0, kind="stable")[:k]
        np.put_along_axis(mask, order, True, axis=0)
    return mask


# --- constants -----------------------------------------------------------------------------

@_doc(complex_ok=True)
def constant(shape=None, value=None, *, out=None, dtype=None, rng=None, threads=None,
             global_shape=None, index=None):
    r"""Fill with `value` (a scalar, or an array broadcastable to the global shape).

    As ``torch.nn.init.constant_`` / ``jax.nn.initializers.constant`` /
    ``keras.initializers.Constant``. Written with ``np.copyto``, split over `threads` for
    large tensors (numpy releases the GIL). Non-finite values (inf, nan) are written as
    given; a finite value that overflows the dtype (1e5 in float16) is a ValueError.
    `rng` is validated and not used; an empty tensor is returned without a warning.

    Parameters
    ----------
    shape : int or tuple of ints, optional
    value : number or array_like
        Required. Complex values need a complex dtype.
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.
    """
    if value is None:
        raise TypeError("constant() missing required argument 'value'")
    t = _target("constant", shape, out, dtype, global_shape, index, complex_ok=True)
    v = np.asarray(value)
    if v.dtype.kind not in "biufc":
        raise TypeError(f"value must be a number or an array of numbers, got {v.dtype}")
    try:
        np.broadcast_shapes(v.shape, t.gshape)
        ok = np.broadcast_shapes(v.shape, t.gshape) == t.gshape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"value of shape {v.shape} does not broadcast to the tensor's shape "
                         f"{t.gshape}")
    if v.dtype.kind == "c" and t.cdtype is None:
        if np.any(v.imag != 0):
            raise TypeError("a complex value needs a complex dtype (complex64 or complex128)")
        v = v.real
    target = t.cdtype if t.cdtype is not None else (
        np.float32 if t.code == _dtypes.BF16 and _dtypes.bfloat16_dtype() is None
        else _dtypes.numpy_dtype(t.code))
    with np.errstate(over="ignore", invalid="ignore"):
        cast = v.astype(target)
    if np.any(np.isfinite(v) & ~np.isfinite(cast)):
        name = t.cdtype if t.cdtype is not None else _dtypes.NAMES[t.code]
        raise ValueError(f"value {value!r} overflows {name}")
    if t.empty:
        return _noop(t, rng, threads, warn=False)
    nthreads = _check_rng_threads(rng, threads)
    _allocate(t)
    # the value's block, without a view of the whole global tensor (whose byte size may
    # exceed what numpy can describe)
    vb = v.reshape((1,) * (len(t.gshape) - v.ndim) + v.shape)
    ix = _full_index(t)
    if ix is not None:
        vb = vb[tuple(s if n > 1 else slice(None) if isinstance(s, slice) else 0
                      for s, n in zip(ix, vb.shape))]
    return _store(t, np.broadcast_to(vb, t.bshape), nthreads)


@_doc(complex_ok=True)
def zeros(shape=None, *, out=None, dtype=None, rng=None, threads=None, global_shape=None,
          index=None):
    r"""Fill with 0 (``torch.nn.init.zeros_``, ``jax.nn.initializers.zeros``).

    Parameters
    ----------
    shape : int or tuple of ints, optional
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.
    """
    return constant(shape, 0.0, out=out, dtype=dtype, rng=rng, threads=threads,
                    global_shape=global_shape, index=index)


@_doc(complex_ok=True)
def ones(shape=None, *, out=None, dtype=None, rng=None, threads=None, global_shape=None,
         index=None):
    r"""Fill with 1 (``torch.nn.init.ones_``, ``jax.nn.initializers.ones``).

    Parameters
    ----------
    shape : int or tuple of ints, optional
    {common}

    Returns
    -------
    ndarray
        `out`, or a new array.
    """
    return constant(shape, 1.0, out=out, dtype=dtype, rng=rng, threads=threads,
                    global_shape=global_shape, index=index)
