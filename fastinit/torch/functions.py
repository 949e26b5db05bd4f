"""fastinit's ``torch.nn.init``: every public function of it, same name, signature, defaults,
return value, warnings and errors, plus keyword-only ``rng=`` and ``threads=``.

Each function resolves its tensor (writing.py), validates as torch does (validation.py), picks
its stream (streams.py) and writes; what fastinit cannot fill goes to torch's own function
(``state._ORIG``). The deprecated un-suffixed aliases torch keeps are here too.
"""

import functools
import math
import numbers
import warnings

import torch

from .. import initializers as _fi
from .. import samplers as _fs
from .state import _ORIG, _active
from .streams import _rng_for
from .validation import (_calculate_correct_fan, _calculate_fan_in_and_fan_out,
                         _check_normal, _check_uniform, _empty, _finite, _torch_function)
from .writing import (_META_MSG, _delegate_reason, _dest, _device_of, _is_meta, _word32,
                      _write, _write_constant)


# --- the sampling functions -----------------------------------------------------------------

def _uniform_fill(d, a, b, rng, threads, tensor):
    if a == b:
        _write_constant(d, a)
        return
    _write(d, functools.partial(_fs.uniform, None, float(a), float(b)), rng, threads,
           words=d.numel, word32=_word32(tensor))


def _normal_fill(d, mean, std, rng, threads, tensor):
    _write(d, functools.partial(_fs.normal, None, float(mean), float(std)), rng, threads,
           words=d.numel, word32=_word32(tensor))


def uniform_(tensor, a=0.0, b=1.0, generator=None, *, rng=None, threads=None):
    r"""Fill the tensor with values drawn from the uniform distribution U(a, b).

    As ``torch.nn.init.uniform_``; values are fastinit's ``uniform`` (``a <= x < b`` in the
    tensor's dtype). ``a == b`` fills `a`.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        a: the lower bound of the uniform distribution
        b: the upper bound of the uniform distribution
        generator: a torch Generator to draw the stream's seed from (default: torch's
            default generator)
        rng: fastinit seeding instead of `generator` (int, SeedSequence, numpy Generator)
        threads: threads for the fill (never changes the values)
    """
    handled, res = _torch_function(uniform_, tensor, a=a, b=b, generator=generator, rng=rng,
                                   threads=threads)
    if handled:
        return res
    d = _dest(tensor, "uniform_")
    if d is None:
        return _ORIG["uniform_"](tensor, a, b, generator)
    _check_uniform(tensor, a, b, generator)
    r = _rng_for(rng, generator, tensor)
    try:
        _uniform_fill(d, a, b, r, threads, tensor)
    except ValueError:
        if not _finite(a, b) or d.global_shape is not None:
            raise
        return _ORIG["uniform_"](tensor, a, b, generator)    # an interval no value fits in
    return tensor


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, rng=None, threads=None):
    r"""Fill the tensor with values drawn from the normal distribution N(mean, std^2).

    As ``torch.nn.init.normal_``; values are fastinit's ``normal`` (inversion of one 32-bit
    word per element, 64-bit for float64). Non-finite `mean`/`std` are handed to torch.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        mean: the mean of the normal distribution
        std: the standard deviation of the normal distribution
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    handled, res = _torch_function(normal_, tensor, mean=mean, std=std, generator=generator,
                                   rng=rng, threads=threads)
    if handled:
        return res
    d = _dest(tensor, "normal_")
    if d is None:
        return _ORIG["normal_"](tensor, mean, std, generator)
    _check_normal(tensor, mean, std, generator)
    if not _finite(mean, std):
        if rng is not None and generator is not None:
            raise ValueError("pass generator= or rng=, not both")
        return _ORIG["normal_"](tensor, mean, std, generator)
    _normal_fill(d, mean, std, _rng_for(rng, generator, tensor), threads, tensor)
    return tensor


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, rng=None,
                  threads=None):
    r"""Fill the tensor with N(mean, std^2) truncated to the absolute bounds [a, b].

    As ``torch.nn.init.trunc_normal_`` (a, b are absolute values, no variance correction),
    sampled by exact inversion (fastinit's ``truncated_normal``, one word per element) instead
    of torch's rejection sampling: same distribution, a fixed amount of the stream, accurate
    far in the tails. Warns as torch does when `mean` is more than 2 std outside [a, b].

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        mean: the mean of the normal distribution
        std: the standard deviation of the normal distribution
        a: the minimum cutoff value
        b: the maximum cutoff value
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    d = _dest(tensor, "trunc_normal_")
    if d is None:
        return _ORIG["trunc_normal_"](tensor, mean, std, a, b, generator)
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    p = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if p > 0.3:
        _check_normal(tensor, mean, std, generator)
    else:
        _check_uniform(tensor, a, b, generator)
    if a == b:
        _write_constant(d, a)
        return tensor
    if not _finite(mean, std) or std <= 0:
        return _ORIG["trunc_normal_"](tensor, mean, std, a, b, generator)
    r = _rng_for(rng, generator, tensor)
    lower, upper = (a - mean) / std, (b - mean) / std
    try:
        _write(d, functools.partial(_fs.truncated_normal, None, float(mean), float(std),
                                    float(lower), float(upper)),
               r, threads, words=d.numel, word32=_word32(tensor))
    except ValueError:
        if d.global_shape is not None:
            raise
        return _ORIG["trunc_normal_"](tensor, mean, std, a, b, generator)
    return tensor


# --- constants -------------------------------------------------------------------------------

def _const_dest(tensor, fn_name):
    if isinstance(tensor, torch.Tensor) and _is_meta(tensor) and _active() is None:
        raise ValueError(_META_MSG.format(fn=fn_name))


def constant_(tensor, val):
    r"""Fill the tensor with the value `val` (``torch.nn.init.constant_``: torch's ``fill_``).

    Args:
        tensor: an n-dimensional `torch.Tensor`
        val: the value to fill the tensor with
    """
    handled, res = _torch_function(constant_, tensor, val=val)
    if handled:
        return res
    _const_dest(tensor, "constant_")
    with torch.no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    r"""Fill the tensor with the scalar value 1 (``torch.nn.init.ones_``).

    Args:
        tensor: an n-dimensional `torch.Tensor`
    """
    _const_dest(tensor, "ones_")
    with torch.no_grad():
        return tensor.fill_(1.0)


def zeros_(tensor):
    r"""Fill the tensor with the scalar value 0 (``torch.nn.init.zeros_``).

    Args:
        tensor: an n-dimensional `torch.Tensor`
    """
    _const_dest(tensor, "zeros_")
    with torch.no_grad():
        return tensor.zero_()


def eye_(tensor):
    r"""Fill the 2-D tensor with the identity matrix (``torch.nn.init.eye_``).

    Args:
        tensor: a 2-dimensional `torch.Tensor` (or DTensor)
    """
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    d = _dest(tensor, "eye_")
    if d is None:
        return _ORIG["eye_"](tensor)
    _write(d, functools.partial(_fi.eye, None, 1.0), None, None, blockable=True)
    return tensor


def dirac_(tensor, groups=1):
    r"""Fill the {3, 4, 5}-D tensor with the Dirac delta (``torch.nn.init.dirac_``).

    Args:
        tensor: a {3, 4, 5}-dimensional `torch.Tensor` (or DTensor)
        groups (int, optional): number of groups in the conv layer (default: 1)
    """
    dimensions = tensor.ndimension()
    if dimensions not in [3, 4, 5]:
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.size()
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        return _ORIG["dirac_"](tensor, groups)
    d = _dest(tensor, "dirac_")
    if d is None:
        return _ORIG["dirac_"](tensor, groups)
    _write(d, functools.partial(_fi.dirac, None, int(groups)), None, None)
    return tensor


# --- the variance-scaling schemes ------------------------------------------------------------

def _shape_of(tensor):
    return tuple(tensor.shape)


def xavier_uniform_(tensor, gain=1.0, generator=None, *, rng=None, threads=None):
    r"""Xavier/Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).

    As ``torch.nn.init.xavier_uniform_`` (Glorot & Bengio 2010); the fans of a DTensor are
    those of its global shape.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        gain: an optional scaling factor
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape_of(tensor))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _scheme_uniform(tensor, -a, a, generator, rng, threads, "xavier_uniform_",
                           lambda: _ORIG["xavier_uniform_"](tensor, gain, generator))


def xavier_normal_(tensor, gain=1.0, generator=None, *, rng=None, threads=None):
    r"""Xavier/Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    As ``torch.nn.init.xavier_normal_`` (untruncated).

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        gain: an optional scaling factor
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape_of(tensor))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _scheme_normal(tensor, std, generator, rng, threads, "xavier_normal_",
                          lambda: _ORIG["xavier_normal_"](tensor, gain, generator))


def _scheme_uniform(tensor, lo, hi, generator, rng, threads, name, orig):
    d = _dest(tensor, name)
    if d is None:
        return orig()
    _check_uniform(tensor, lo, hi, generator)
    r = _rng_for(rng, generator, tensor)
    _uniform_fill(d, lo, hi, r, threads, tensor)
    return tensor


def _scheme_normal(tensor, std, generator, rng, threads, name, orig):
    d = _dest(tensor, name)
    if d is None:
        return orig()
    _check_normal(tensor, 0.0, std, generator)
    if not _finite(std):
        return orig()
    _normal_fill(d, 0.0, std, _rng_for(rng, generator, tensor), threads, tensor)
    return tensor


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                     rng=None, threads=None):
    r"""He/Kaiming uniform: U(-bound, bound), bound = gain * sqrt(3 / fan_mode).

    As ``torch.nn.init.kaiming_uniform_`` (He et al. 2015), ``gain = calculate_gain(
    nonlinearity, a)``. A zero-element tensor warns "Initializing zero-element tensors is a
    no-op" and is returned unchanged.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        a: the negative slope of the rectifier used after this layer (only used with
            ``'leaky_relu'``)
        mode: either ``'fan_in'`` (default) or ``'fan_out'``
        nonlinearity: the non-linear function (`nn.functional` name)
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    handled, res = _torch_function(kaiming_uniform_, tensor, a=a, mode=mode,
                                   nonlinearity=nonlinearity, generator=generator, rng=rng,
                                   threads=threads)
    if handled:
        return res
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(_shape_of(tensor), mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _scheme_uniform(tensor, -bound, bound, generator, rng, threads, "kaiming_uniform_",
                           lambda: _ORIG["kaiming_uniform_"](tensor, a, mode, nonlinearity,
                                                             generator))


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                    rng=None, threads=None):
    r"""He/Kaiming normal: N(0, std^2), std = gain / sqrt(fan_mode), untruncated.

    As ``torch.nn.init.kaiming_normal_``.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        a: the negative slope of the rectifier used after this layer (only used with
            ``'leaky_relu'``)
        mode: either ``'fan_in'`` (default) or ``'fan_out'``
        nonlinearity: the non-linear function (`nn.functional` name)
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(_shape_of(tensor), mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    return _scheme_normal(tensor, std, generator, rng, threads, "kaiming_normal_",
                          lambda: _ORIG["kaiming_normal_"](tensor, a, mode, nonlinearity,
                                                           generator))


def orthogonal_(tensor, gain=1, generator=None, *, rng=None, threads=None):
    r"""Fill the tensor with a (semi-)orthogonal matrix times `gain` (Saxe et al. 2014).

    As ``torch.nn.init.orthogonal_``: rows = size(0), the trailing dimensions flattened; QR of
    an N(0, 1) matrix (transposed when rows < cols) with Q's columns multiplied by
    sign(diag(R)). Computed in float64 for float64 tensors, float32 otherwise -- so float16
    and bfloat16 work on CPU (torch's QR does not support them). A DTensor shard computes
    the whole matrix and keeps its block.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor), n >= 2
        gain: optional scaling factor
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    d = _dest(tensor, "orthogonal_") if tensor.numel() else None
    if d is None:
        if tensor.numel() == 0 and not _delegate_reason(tensor):
            return tensor
        return _ORIG["orthogonal_"](tensor, gain, generator)
    with torch.no_grad():
        _empty(tensor.dtype, _device_of(tensor)).mul_(gain)     # torch's error for a bad gain
    r = _rng_for(rng, generator, tensor)
    g = gain
    scale = isinstance(g, bool) or not isinstance(g, numbers.Real) or not (
        math.isfinite(float(g)) and g > 0)
    _write(d, functools.partial(_fi.orthogonal, None, 1.0 if scale else float(g)), r, threads,
           words=d.numel, word32=_word32(tensor), blockable=False)
    if scale:
        with torch.no_grad():
            d.local.mul_(gain)
    return tensor


def sparse_(tensor, sparsity, std=0.01, generator=None, *, rng=None, threads=None):
    r"""Fill the 2-D tensor as a sparse matrix (Martens 2010).

    As ``torch.nn.init.sparse_``: N(0, std^2) values with ``ceil(sparsity * rows)`` zeros
    in each column. The zero positions come from the same fastinit stream as the values
    (torch draws them with ``torch.randperm`` from the global generator), so the result is
    reproducible from `rng`/`generator` alone.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        sparsity: The fraction of elements in each column to be set to zero
        std: the standard deviation of the normal distribution used to generate the non-zero
            values
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    d = _dest(tensor, "sparse_")
    if d is None:
        return _ORIG["sparse_"](tensor, sparsity, std, generator)
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    _check_normal(tensor, 0, std, generator)
    if not _finite(std):
        return _ORIG["sparse_"](tensor, sparsity, std, generator)
    k = len(range(rows)[:num_zeros])          # torch zeroes row_indices[:num_zeros]
    s = 0.0
    if rows:
        s = k / rows
        while s > 0 and math.ceil(s * rows) > k:
            s = math.nextafter(s, 0.0)
        s = min(1.0, s)
    r = _rng_for(rng, generator, tensor)
    _write(d, functools.partial(_fi.sparse, None, s, float(std)), r, threads,
           words=2 * d.numel, word32=_word32(tensor), blockable=False)
    return tensor


def calculate_gain(nonlinearity, param=None):
    r"""Return the recommended gain value for the given nonlinearity function.

    ``torch.nn.init.calculate_gain`` itself (same values and types: 1 for the linear
    functions, 5/3 tanh, sqrt(2) relu, sqrt(2 / (1 + slope^2)) leaky_relu, 3/4 selu).

    Args:
        nonlinearity: the non-linear function (`nn.functional` name)
        param: optional parameter for the non-linear function
    """
    return _ORIG["calculate_gain"](nonlinearity, param)


# --- deprecated aliases (torch keeps them for backward compatibility) -----------------------

def _make_deprecate(meth):
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = rf"""
    {old_name}(...)

    .. warning::
        This method is now deprecated in favor of :func:`fastinit.torch.{new_name}`.

    See :func:`~fastinit.torch.{new_name}` for details."""
    deprecated_init.__name__ = old_name
    deprecated_init.__qualname__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)


#: fastinit's function for each name of torch.nn.init (what patch() routes to)
_OURS = {name: globals()[name] for name in _ORIG}
