"""JAX's own ``jax.nn.initializers`` functions, captured once at import.

fastinit.jax runs them (abstractly) for shapes, dtypes and errors, and re-exports the ones
that draw nothing (`constant`, `zeros`, `ones`) and the `Initializer` protocol as they are.
"""

import types

import jax


def _jax_original(name):
    """jax.nn.initializers.<name> as JAX defines it, captured once at import.

    fastinit.jax runs JAX's own initializers (for shapes, dtypes and errors); looking them up
    in ``jax.nn.initializers`` at call time would recurse once a user has put fastinit.jax's
    functions there (``jax.nn.initializers.normal = fastinit.jax.normal``), so they are
    captured here, from JAX's defining module when the public one already holds fastinit's.
    """
    fn = getattr(jax.nn.initializers, name)
    if str(getattr(fn, "__module__", "")).split(".")[0] == "fastinit":
        from jax._src.nn import initializers as defining
        fn = getattr(defining, name)
    return fn


_JAX_NAMES = ("Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform",
              "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "normal", "ones",
              "orthogonal", "truncated_normal", "uniform", "variance_scaling", "zeros")
_ref = types.SimpleNamespace(**{n: _jax_original(n) for n in _JAX_NAMES})
Initializer = _ref.Initializer
constant = _ref.constant
zeros = _ref.zeros
ones = _ref.ones
