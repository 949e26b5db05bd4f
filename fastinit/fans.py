"""Fan-in and fan-out of a weight tensor, for every framework's layout."""

import math
import numbers
import operator

import numpy as np

from . import _layout

__all__ = ["compute_fans", "LAYOUTS"]

#: Named layouts and their (in_axis, out_axis).
#: ``torch``: (out, in, *kernel), PyTorch's Linear/Conv weights (the default).
#: ``jax`` (aliases ``flax``, ``tensorflow``): (*kernel, in, out), as jax.nn.initializers.
#: ``keras``: like ``jax``, plus Keras's rule for 0-D and 1-D shapes (fans 1 and shape[0]).
LAYOUTS = {
    "torch": (1, 0),
    "jax": (-2, -1),
    "flax": (-2, -1),
    "tensorflow": (-2, -1),
    "keras": (-2, -1),
}


def _axes(axes, ndim, name):
    """Normalised, validated tuple of non-negative axes."""
    single = isinstance(axes, (int, np.integer)) and not isinstance(axes, (bool, np.bool_))
    try:
        items = (operator.index(axes),) if single else tuple(operator.index(a) for a in axes)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {axes!r}") from None
    out = []
    for a in items:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}={axes!r} is out of range for a {ndim}-dimensional shape")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}={axes!r} names an axis twice")
    return tuple(out)


def check_fan(value, name):
    """A user-given fan: a positive finite real number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__}")
    if not (math.isfinite(float(value)) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def resolve_layout(layout, in_axis, out_axis):
    """(layout name, in_axis, out_axis) with the defaults of `layout` filled in."""
    if layout is None:
        layout = "torch"
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a str, got {type(layout).__name__}")
    key = layout.lower()
    if key not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {sorted(LAYOUTS)} "
                         f"(or give in_axis= and out_axis=)")
    d_in, d_out = LAYOUTS[key]
    return (key, d_in if in_axis is None else in_axis, d_out if out_axis is None else out_axis)


def compute_fans(shape, *, in_axis=None, out_axis=None, batch_axis=(), layout=None,
                 fan_in=None, fan_out=None):
    r"""Fan-in and fan-out of a weight tensor of this shape.

    Axes that are neither input, output nor batch axes form the receptive field (the
    kernel of a convolution); with it

    .. math::

        \text{fan\_in} = n_\text{in} \prod \text{kernel}, \qquad
        \text{fan\_out} = n_\text{out} \prod \text{kernel}.

    Computed as products (fan_in = product of the sizes of every axis that is neither an
    output nor a batch axis, fan_out likewise), which equals PyTorch's
    ``_calculate_fan_in_and_fan_out`` for the ``torch`` layout and JAX's ``_compute_fans``
    for the ``jax`` layout (including JAX's reading when `in_axis` and `out_axis` name the
    same axis, as Flax's ``Embed`` does), and never divides: a zero-size axis gives a fan
    of 0, not a ZeroDivisionError or NaN (the initializers turn a zero-element tensor into
    a no-op with a warning before they need a fan).

    Parameters
    ----------
    shape : int or tuple of ints
        Shape of the (whole, global) weight tensor.
    in_axis, out_axis : int or sequence of ints, optional
        Axes holding the inputs and the outputs (JAX's convention). Each one not given
        comes from `layout`. When either is given, 1-D shapes are accepted as JAX does.
    batch_axis : int or sequence of ints, optional
        Axes ignored by both fans (stacked independent weights). Must not overlap
        `in_axis` or `out_axis`.
    layout : {'torch', 'jax', 'flax', 'tensorflow', 'keras'}, optional
        ``'torch'`` (default): (out, in, \*kernel), fan_in = shape[1] * prod(shape[2:]).
        ``'jax'``/``'flax'``/``'tensorflow'``: (\*kernel, in, out).
        ``'keras'``: as ``'jax'``, and Keras's rule below 2-D: a 1-D shape (n,) has
        fan_in = fan_out = n, a 0-D shape has fan_in = fan_out = 1.
    fan_in, fan_out : positive number, optional
        Returned as given instead of the computed value. When both are given the shape
        is not inspected (so any number of dimensions is accepted).

    Returns
    -------
    (fan_in, fan_out) : tuple
        ints when computed from the shape; overrides are returned unchanged.

    Raises
    ------
    ValueError
        ``"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"``
        (PyTorch's message) for a 0-D or 1-D shape with the default axes and no override;
        an unknown layout; an axis out of range or repeated; a batch axis that is also an
        input or output axis; a fan override that is not positive and finite.
    TypeError
        A shape, axis or fan of the wrong type.

    Examples
    --------
    >>> from fastinit import compute_fans
    >>> compute_fans((64, 32, 3, 3))                  # torch Conv2d weight (out, in, kh, kw)
    (288, 576)
    >>> compute_fans((3, 3, 32, 64), layout="jax")    # flax Conv kernel (kh, kw, in, out)
    (288, 576)
    """
    if fan_in is not None:
        fan_in = check_fan(fan_in, "fan_in")
    if fan_out is not None:
        fan_out = check_fan(fan_out, "fan_out")
    dims = _layout.as_shape(shape, "shape")
    key, in_ax, out_ax = resolve_layout(layout, in_axis, out_axis)
    explicit = in_axis is not None or out_axis is not None
    if fan_in is not None and fan_out is not None:
        # still validate the layout arguments so a typo is not silently accepted
        if batch_axis not in ((), None) and dims:
            _axes(batch_axis, len(dims), "batch_axis")
        return fan_in, fan_out
    if len(dims) < 2 and not explicit:
        fi, fo = _fans_below_2d(dims, key, batch_axis)
    else:
        fi, fo = _fans_from_axes(dims, in_ax, out_ax, batch_axis)
    return (fi if fan_in is None else fan_in, fo if fan_out is None else fan_out)


def _fans_below_2d(dims, key, batch_axis):
    """Fans of a 0-D or 1-D shape with the layout's own axes: Keras's rule (fans 1 and
    shape[0]) for the ``keras`` layout, PyTorch's error for the others."""
    if key == "keras" and not batch_axis:
        n = dims[0] if len(dims) == 1 else 1
        return n, n
    raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                     f"2 dimensions (shape {dims}); pass fan_in= and fan_out=, or in_axis= "
                     f"and out_axis=")


def _fans_from_axes(dims, in_ax, out_ax, batch_axis):
    """Fans as products over the axes: fan_in over every axis that is neither an output nor
    a batch axis, fan_out likewise (so the kernel axes count in both)."""
    ndim = len(dims)
    if ndim == 0:
        raise ValueError("fans of a 0-dimensional shape need fan_in= and fan_out=")
    ins = _axes(in_ax, ndim, "in_axis")
    outs = _axes(out_ax, ndim, "out_axis")
    batch = _axes(() if batch_axis is None else batch_axis, ndim, "batch_axis")
    if set(batch) & (set(ins) | set(outs)):
        raise ValueError(f"batch_axis={batch_axis!r} overlaps in_axis={in_ax!r} or "
                         f"out_axis={out_ax!r}")
    fi = math.prod(n for i, n in enumerate(dims) if i not in outs and i not in batch)
    fo = math.prod(n for i, n in enumerate(dims) if i not in ins and i not in batch)
    return fi, fo
