"""Recommended gains for nonlinearities: PyTorch's table, the same values and errors."""

import math
import numbers

__all__ = ["calculate_gain"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    r"""Recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    The gain multiplies the standard deviation of an initialization scheme so that the
    variance of the activations is preserved through the nonlinearity.

    ================================================  =========================================
    nonlinearity                                      gain
    ================================================  =========================================
    ``linear``, ``conv{1,2,3}d``,                     1
    ``conv_transpose{1,2,3}d``, ``sigmoid``
    ``tanh``                                          5/3
    ``relu``                                          :math:`\sqrt{2}` (He et al. 2015)
    ``leaky_relu``                                    :math:`\sqrt{2 / (1 + a^2)}`, a = `param`
                                                      (negative slope, 0.01 when None)
    ``selu``                                          3/4 (PyTorch's empirical choice)
    ================================================  =========================================

    For self-normalizing networks (Klambauer et al. 2017) use ``'linear'`` (gain 1, i.e.
    LeCun normal, see `fastinit.selu_normal`), not ``'selu'``: the 3/4 gain gives up the
    fixed point of the SELU dynamics for smoother gradients, as PyTorch documents.

    Parameters
    ----------
    nonlinearity : str
        Name of the nonlinearity (``torch.nn.functional`` name).
    param : int or float, optional
        Negative slope of ``leaky_relu``; ignored by the other nonlinearities.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``"Unsupported nonlinearity X"`` for a name not in the table;
        ``"negative_slope X not a valid number"`` when `param` of ``leaky_relu`` is not a
        finite real number (a bool is not a number here, as in PyTorch), or so large that
        its square overflows (PyTorch raises OverflowError there).

    References
    ----------
    He, Zhang, Ren, Sun (2015), "Delving deep into rectifiers", ICCV.

    Examples
    --------
    >>> from fastinit import calculate_gain
    >>> calculate_gain("relu") == 2 ** 0.5
    True
    >>> round(calculate_gain("leaky_relu", 0.2), 5)
    1.38675
    """
    if isinstance(nonlinearity, str):
        if nonlinearity in _LINEAR:
            return 1.0
        if nonlinearity == "tanh":
            return 5.0 / 3
        if nonlinearity == "relu":
            return math.sqrt(2.0)
        if nonlinearity == "leaky_relu":
            return _leaky_relu_gain(param)
        if nonlinearity == "selu":
            return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _leaky_relu_gain(param):
    """sqrt(2 / (1 + slope^2)) for the negative slope `param` (0.01 when None)."""
    if param is None:
        slope = 0.01
    elif isinstance(param, numbers.Real) and not isinstance(param, bool) \
            and math.isfinite(float(param)):
        slope = float(param)
    else:
        raise ValueError(f"negative_slope {param} not a valid number")
    try:
        square = slope ** 2
    except OverflowError:
        raise ValueError(f"negative_slope {param} not a valid number: its square "
                         f"overflows") from None
    return math.sqrt(2.0 / (1 + square))
