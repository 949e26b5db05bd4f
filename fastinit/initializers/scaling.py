"""The variance-scaling family: `variance_scaling`, Xavier/Glorot, He/Kaiming, LeCun, SELU.

Each computes the fans and a gain, turns them into one standard deviation (`_scheme`) and
fills with one sampler call (`_draw`): a normal, a truncated normal or a uniform of that
standard deviation, or JAX's complex counterparts.
"""

import math

import numpy as np

from .. import _dtypes, _params, fans as _fans, samplers
from ..gains import calculate_gain
from .common import (_allocate, _choice, _chunks, _doc, _full_index, _noop, _positive,
                     _sampler_dtype, _target)

#: Standard deviation of N(0, 1) truncated to [-2, 2] (JAX's constant): dividing the target
#: std by it makes the variance of the truncated samples exactly scale / fan.
TRUNCATED_STD = 0.87962566103423978
#: sqrt(E|z|^2) of a standard complex normal (E|z|^2 = 1) whose modulus is cut at 2:
#: |z|^2 ~ Exp(1) cut at 4, so E|z|^2 = 1 - 4 e^-4 / (1 - e^-4). (JAX divides by
#: 0.95311164380491208 instead, which leaves its variance 1.9 % above scale / fan.)
COMPLEX_TRUNCATED_STD = math.sqrt(1.0 - 4.0 * math.exp(-4.0) / -math.expm1(-4.0))

_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


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
