"""Argument checks that raise torch's own errors, the fans of a (global) shape, and
torch's ``__torch_function__`` preamble.

fastinit.torch's functions validate their arguments by running torch's own operation on an
empty tensor of the same dtype and device, so the exception (type and message) is torch's.
"""

import math

import torch

from .writing import _device_of

_EMPTY = {}


def _empty(dtype, device):
    key = (dtype, str(device))
    t = _EMPTY.get(key)
    if t is None:
        t = _EMPTY[key] = torch.empty(0, dtype=dtype, device=device)
    return t


def _check_uniform(tensor, a, b, generator):
    """Raise exactly what ``tensor.uniform_(a, b, generator=generator)`` raises."""
    with torch.no_grad():
        _empty(tensor.dtype, _device_of(tensor)).uniform_(a, b, generator=generator)


def _check_normal(tensor, mean, std, generator):
    with torch.no_grad():
        _empty(tensor.dtype, _device_of(tensor)).normal_(mean, std, generator=generator)


def _finite(*xs):
    return all(math.isfinite(float(x)) for x in xs)


def _calculate_fan_in_and_fan_out(shape):
    """torch.nn.init._calculate_fan_in_and_fan_out of a (global) shape."""
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(shape, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def _torch_function(fn, tensor, **kw):
    """torch's __torch_function__ preamble (subclasses, TorchFunctionModes)."""
    if torch.overrides.has_torch_function_variadic(tensor):
        return True, torch.overrides.handle_torch_function(fn, (tensor,), tensor=tensor, **kw)
    return False, None
