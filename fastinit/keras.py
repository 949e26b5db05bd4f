"""Keras 3 backend: ``keras.initializers`` classes whose random draws come from fastinit.

Each class here *is* a subclass of the Keras class of the same name (``fastinit.keras.HeNormal``
is a ``keras.initializers.HeNormal``), so it takes the same arguments with the same defaults
and validation, has the same ``get_config()``/``from_config()``, the same seed semantics, and
works as ``kernel_initializer=`` / ``bias_initializer=`` on every Keras backend (JAX, PyTorch,
TensorFlow). Only ``__call__`` changes: the values are drawn by fastinit on the host (in
parallel, reproducibly) and handed to the backend as a tensor of the requested dtype::

    import fastinit.keras as fk
    layer = keras.layers.Dense(4096, kernel_initializer=fk.GlorotUniform(seed=0))

Semantics (Keras 3.15's, checked against its source)
----------------------------------------------------
* VarianceScaling: variance ``scale / max(1, n)`` with n = fan_in, fan_out or their mean from
  Keras's ``compute_fans`` (1-D: fan_in = fan_out = shape[0]; >= 3-D: receptive field
  prod(shape[:-2]); or ``input_axes``/``output_axes``); 'truncated_normal' (also for
  ``distribution='normal'``) is N(0, 1) cut at +-2 times ``sqrt(scale / n) / 0.8796...``,
  'untruncated_normal' the plain normal, 'uniform' U[-sqrt(3 scale / n), sqrt(3 scale / n)).
* RandomNormal(mean, stddev), RandomUniform(minval, maxval), TruncatedNormal(mean, stddev)
  (cut at mean +- 2 stddev, no correction); Orthogonal(gain): rows = prod(shape[:-1]),
  cols = shape[-1], QR with the signs of diag(R) fixed.
* Seeds: ``seed=None`` draws an int seed once at construction (Keras's own
  ``make_default_seed``), so -- as in Keras -- every call gives the same values; an int seed
  gives the same values on every call; a ``keras.random.SeedGenerator`` gives new values on
  every call (its state advances exactly as Keras advances it).

Seed -> stream (documented, stable)
-----------------------------------
An int seed ``s`` draws from ``numpy.random.SeedSequence(s)`` (``s mod 2**64`` for negative
``s``), i.e. ``fk.RandomNormal(0, .05, seed=3)(shape)`` equals
``fastinit.normal(shape, 0, .05, rng=3)``. A SeedGenerator contributes the two words of
``seed_generator.next()`` (read as uint32): ``SeedSequence([a, b])``.

Falls back to Keras
-------------------
Inputs fastinit does not fill -- dtypes other than float16/bfloat16/float32/float64, shapes
that are not tuples of non-negative ints, non-finite or degenerate parameters (a negative
stddev, minval >= maxval, a gain <= 0), zero-size Orthogonal shapes -- are handed to the Keras
class's own ``__call__``, so they give exactly Keras's result or Keras's error.

Every public name of ``keras.initializers`` is here, so ``fastinit.keras`` can replace it
wholesale. Constant, Zeros, Ones, Identity and STFT (a fixed Fourier basis) draw nothing at
random: they are Keras's own classes, as is ``serialize``; ``get`` and ``deserialize`` resolve
Keras's names to fastinit's classes. Keras's functions are captured at import, so putting
fastinit's in ``keras.initializers`` (``keras.initializers.get = fastinit.keras.get``) is safe.
"""

import inspect
import math
import operator
import types

import keras
import numpy as np

from . import initializers as _fi, samplers as _samplers
from .initializers import TRUNCATED_STD

try:                                     # Keras's own fan rule, when importable
    from keras.src.initializers.random_initializers import compute_fans as _keras_fans
except ImportError:                      # pragma: no cover - same code as Keras 3.15
    def _keras_fans(shape, input_axes=None, output_axes=None):
        shape = tuple(shape)
        if input_axes is not None and output_axes is not None:
            fan_in = math.prod(shape[a] for a in input_axes)
            fan_out = math.prod(shape[a] for a in output_axes)
            return int(fan_in), int(fan_out)
        if len(shape) < 1:
            return 1, 1
        if len(shape) == 1:
            return int(shape[0]), int(shape[0])
        if len(shape) == 2:
            return int(shape[0]), int(shape[1])
        rf = math.prod(shape[:-2])
        return int(shape[-2] * rf), int(shape[-1] * rf)

__all__ = [
    "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "Orthogonal", "OrthogonalInitializer", "Identity", "IdentityInitializer",
    "Constant", "Zeros", "Ones", "STFT", "STFTInitializer", "Initializer",
    "get", "serialize", "deserialize",
    "random_normal", "random_uniform", "truncated_normal", "variance_scaling",
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "orthogonal", "identity", "constant", "zeros", "ones", "stft",
]

#: The public names of keras.initializers (Keras 3.15) this module mirrors.
_KERAS_NAMES = (
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomNormal", "RandomUniform", "STFT", "STFTInitializer",
    "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "deserialize", "get",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal",
    "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform", "serialize",
    "stft", "truncated_normal", "variance_scaling", "zeros")


def _keras_original(name):
    """keras.initializers.<name> as Keras defines it, captured once at import.

    Nothing here looks keras.initializers up at call time: a user who replaced its entries
    with fastinit.keras's (``keras.initializers.get = fastinit.keras.get``) must not send
    fastinit back into itself. When the public module already holds a fastinit object, the
    name is taken from Keras's defining package.
    """
    obj = getattr(keras.initializers, name, None)
    if obj is None or str(getattr(obj, "__module__", "")).split(".")[0] == "fastinit":
        import keras.src.initializers as defining
        obj = getattr(defining, name, None)
    return obj


_K = types.SimpleNamespace(**{n: _keras_original(n) for n in _KERAS_NAMES})

# Drawing nothing at random (or, STFT, computing a fixed basis): Keras's own classes.
Initializer = _K.Initializer
Constant = constant = _K.Constant
Zeros = zeros = _K.Zeros
Ones = ones = _K.Ones
Identity = IdentityInitializer = identity = _K.Identity
STFT = STFTInitializer = stft = _K.STFT
serialize = _K.serialize

_FLOATS = ("float16", "bfloat16", "float32", "float64")
_register = keras.saving.register_keras_serializable(package="fastinit")


# --- helpers -------------------------------------------------------------------------------

def _np_dtype(dtype):
    """(numpy dtype) for a float dtype fastinit fills, else None."""
    try:
        name = keras.backend.standardize_dtype(dtype)
    except Exception:
        return None
    if name not in _FLOATS:
        return None
    if name == "bfloat16":
        import ml_dtypes
        dt = np.dtype(ml_dtypes.bfloat16)
    else:
        dt = np.dtype(name)
    if keras.backend.backend() == "jax":
        import jax
        dt = np.dtype(jax.dtypes.canonicalize_dtype(dt))     # float64 -> float32 without x64
    return dt


def _shape(shape):
    """The shape as a tuple of non-negative ints, or None."""
    try:
        dims = tuple(operator.index(d) for d in shape)
    except TypeError:
        return None
    if any(d < 0 for d in dims):
        return None
    return dims


def _scalar(x):
    """A finite float from a Python/NumPy scalar or a scalar backend tensor, else None."""
    try:
        v = float(np.asarray(keras.ops.convert_to_numpy(x) if not isinstance(
            x, (int, float, np.number)) else x))
    except Exception:
        return None
    return v if math.isfinite(v) else None


def _stream(seed):
    """fastinit's stream for a Keras seed (int or SeedGenerator); advances a SeedGenerator."""
    if isinstance(seed, keras.random.SeedGenerator):
        state = np.asarray(keras.ops.convert_to_numpy(seed.next())).ravel()
        return np.random.SeedSequence([int(w) & 0xFFFFFFFF for w in state])
    s = int(seed)
    return np.random.SeedSequence(s if s >= 0 else s & (2 ** 64 - 1))


def _to_tensor(arr):
    """A backend tensor holding `arr` (same dtype), on the backend's default device."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch
        from keras.src.backend.torch.core import get_device
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")
        if arr.dtype.name == "bfloat16":            # torch has no numpy bfloat16 bridge
            t = torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
        else:
            t = torch.from_numpy(arr)
        return t.to(get_device())
    return keras.ops.convert_to_tensor(arr, dtype=arr.dtype.name)


# --- random initializers -------------------------------------------------------------------

@_register
class RandomNormal(_K.RandomNormal):
    """``keras.initializers.RandomNormal`` drawn by ``fastinit.normal`` (mean, stddev)."""

    def __call__(self, shape, dtype=None):
        dims, dt = _shape(shape), _np_dtype(dtype)
        mean, std = _scalar(self.mean), _scalar(self.stddev)
        if dims is None or dt is None or mean is None or std is None or std < 0:
            return super().__call__(shape, dtype)
        return _to_tensor(_samplers.normal(dims, mean, std, dtype=dt,
                                           rng=_stream(self.seed)))


@_register
class RandomUniform(_K.RandomUniform):
    """``keras.initializers.RandomUniform`` drawn by ``fastinit.uniform`` on [minval, maxval)."""

    def __call__(self, shape, dtype=None):
        dims, dt = _shape(shape), _np_dtype(dtype)
        lo, hi = _scalar(self.minval), _scalar(self.maxval)
        if dims is None or dt is None or lo is None or hi is None or not lo < hi:
            return super().__call__(shape, dtype)
        return _to_tensor(_samplers.uniform(dims, lo, hi, dtype=dt, rng=_stream(self.seed)))


@_register
class TruncatedNormal(_K.TruncatedNormal):
    """``keras.initializers.TruncatedNormal``: N(mean, stddev^2) cut at mean +- 2 stddev.

    Drawn by ``fastinit.truncated_normal(shape, mean, stddev, -2, 2)`` (exact inversion, one
    stream word per element, no rejection).
    """

    def __call__(self, shape, dtype=None):
        dims, dt = _shape(shape), _np_dtype(dtype)
        mean, std = _scalar(self.mean), _scalar(self.stddev)
        if dims is None or dt is None or mean is None or std is None or std < 0:
            return super().__call__(shape, dtype)
        return _to_tensor(_samplers.truncated_normal(dims, mean, std, -2.0, 2.0, dtype=dt,
                                                     rng=_stream(self.seed)))


class _VarianceScalingFill:
    """``__call__`` of VarianceScaling and its named subclasses (Keras's formula)."""

    def __call__(self, shape, dtype=None):
        dims, dt = _shape(shape), _np_dtype(dtype)
        scale = _scalar(self.scale)
        if dims is None or dt is None or scale is None:
            return super().__call__(shape, dtype)
        fan_in, fan_out = _keras_fans(dims, input_axes=self.input_axes,
                                      output_axes=self.output_axes)
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        rng = _stream(self.seed)
        if self.distribution == "truncated_normal":
            arr = _samplers.truncated_normal(dims, 0.0, math.sqrt(scale) / TRUNCATED_STD,
                                             -2.0, 2.0, dtype=dt, rng=rng)
        elif self.distribution == "untruncated_normal":
            arr = _samplers.normal(dims, 0.0, math.sqrt(scale), dtype=dt, rng=rng)
        else:
            limit = math.sqrt(3.0 * scale)
            arr = _samplers.uniform(dims, -limit, limit, dtype=dt, rng=rng)
        return _to_tensor(arr)


@_register
class VarianceScaling(_VarianceScalingFill, _K.VarianceScaling):
    """``keras.initializers.VarianceScaling`` drawn by fastinit (see the module docstring)."""


@_register
class GlorotUniform(_VarianceScalingFill, _K.GlorotUniform):
    """``keras.initializers.GlorotUniform``: U[-a, a), a = sqrt(6 / (fan_in + fan_out))."""


@_register
class GlorotNormal(_VarianceScalingFill, _K.GlorotNormal):
    """``keras.initializers.GlorotNormal``: truncated normal, variance 2 / (fan_in + fan_out)."""


@_register
class HeUniform(_VarianceScalingFill, _K.HeUniform):
    """``keras.initializers.HeUniform``: U[-a, a), a = sqrt(6 / fan_in)."""


@_register
class HeNormal(_VarianceScalingFill, _K.HeNormal):
    """``keras.initializers.HeNormal``: truncated normal, variance 2 / fan_in."""


@_register
class LecunUniform(_VarianceScalingFill, _K.LecunUniform):
    """``keras.initializers.LecunUniform``: U[-a, a), a = sqrt(3 / fan_in)."""


@_register
class LecunNormal(_VarianceScalingFill, _K.LecunNormal):
    """``keras.initializers.LecunNormal``: truncated normal, variance 1 / fan_in."""


@_register
class Orthogonal(_K.Orthogonal):
    """``keras.initializers.Orthogonal`` computed by ``fastinit.orthogonal``.

    The matrix has rows = prod(shape[:-1]) and cols = shape[-1] (Keras's reading); it is
    ``gain * fastinit.orthogonal(shape, column_axis=-1)``: QR of an N(0, 1) matrix drawn by
    fastinit (in float32, float64 for float64), signs of diag(R) fixed, so it is Haar
    distributed with orthonormal columns (rows when rows < cols).
    """

    def __call__(self, shape, dtype=None):
        dims, dt = _shape(shape), _np_dtype(dtype)
        gain = _scalar(self.gain)
        if (dims is None or dt is None or gain is None or gain <= 0 or len(dims) < 2
                or math.prod(dims) == 0):
            return super().__call__(shape, dtype)
        return _to_tensor(_fi.orthogonal(dims, gain, column_axis=len(dims) - 1, dtype=dt,
                                         rng=_stream(self.seed)))


OrthogonalInitializer = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal
orthogonal = Orthogonal

_OURS = {cls.__name__: cls for cls in (
    RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform, GlorotNormal,
    HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal)}


def _module_objects():
    """Keras's name -> class table for deserialization, with fastinit's classes in it."""
    try:
        from keras.src.initializers import ALL_OBJECTS_DICT as table
    except ImportError:                  # pragma: no cover - public names only
        table = {n: getattr(_K, n) for n in _KERAS_NAMES if inspect.isclass(getattr(_K, n))}
    by_keras = {getattr(_K, name): ours for name, ours in _OURS.items()}
    return {name: by_keras.get(obj, obj) for name, obj in table.items()}


_MODULE_OBJECTS = _module_objects()


def deserialize(config, custom_objects=None):
    """Like ``keras.initializers.deserialize``, resolving Keras's names to fastinit's classes.

    ``{'class_name': 'HeNormal', 'config': {...}}`` (also with ``'module':
    'keras.initializers'``, as ``keras.initializers.serialize`` writes it) gives a
    ``fastinit.keras.HeNormal``; names fastinit does not override (Zeros, Ones, Constant,
    Identity, STFT) give Keras's classes; `custom_objects` win, as in Keras.
    """
    from keras.src.saving import serialization_lib
    return serialization_lib.deserialize_keras_object(
        config, module_objects=_MODULE_OBJECTS, custom_objects=custom_objects)


def get(identifier):
    """Like ``keras.initializers.get``, resolving Keras's names to fastinit's classes.

    ``get('he_normal')``, ``get('HeNormal')``, ``get('normal')`` and
    ``get({'class_name': 'HeNormal', 'config': {...}})`` give fastinit.keras instances;
    names fastinit does not override (Zeros, Ones, Constant, Identity, STFT) give Keras's.
    Other identifiers (None, a class, a callable, a tensor or array) are handled by Keras's
    own ``get``.
    """
    if isinstance(identifier, (str, dict)):
        config = ({"class_name": str(identifier), "config": {}}
                  if isinstance(identifier, str) else identifier)
        obj = deserialize(config)
        if callable(obj):
            return obj() if inspect.isclass(obj) else obj
        raise ValueError(f"Could not interpret initializer identifier: {identifier}")
    return _K.get(identifier)
