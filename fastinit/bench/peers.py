"""The implementations a run compares: fastinit itself and each peer, with the cases they fill.

Each implementation turns ``(case, workload)`` into a `_Prepared` zero-argument fill (see
`fastinit.bench.workload`); every implementation of a case is given the same parameters.
Peers are found without importing them (`_peer_version`), since importing torch or JAX
takes seconds.
"""

import concurrent.futures
import importlib
import importlib.metadata
import importlib.util
import math
import sys

import numpy as np

import fastinit
from .workload import _Prepared, _Unavailable

#: Case names in table order.
CASES = ("uniform", "normal", "truncated_normal", "xavier_uniform", "he_normal",
         "variance_scaling")
#: Peer names (besides fastinit itself and the bandwidth limit).
PEERS = ("numpy", "numpy-mt", "torch", "jax", "mkl_random")

# The parameters every implementation of a case is given.
_LOW, _HIGH = -0.1, 0.1
_STD = 0.02
_TRUNC = 2.0                     # truncation bounds in std units, both sides
_TRUNC_STD_CORRECTION = 0.87962566103423978   # std of N(0,1) truncated to [-2, 2]

_FAMILY = {"uniform": "uniform", "xavier_uniform": "uniform", "normal": "normal",
           "truncated_normal": "normal", "he_normal": "normal", "variance_scaling": "normal"}


def _module(name):
    """Import and return the module of a peer (its rows record the error if this fails)."""
    return importlib.import_module(name)


_PEER_MODULE = {"numpy": "numpy", "numpy-mt": "numpy", "torch": "torch", "jax": "jax",
                "mkl_random": "mkl_random"}


def _peer_version(name):
    """Version of the peer's package, or None when it is not installed.

    Looks the package up without importing it (importing torch or JAX takes seconds); a
    package that is found but fails to import is reported as an error of its rows.
    """
    mod = _PEER_MODULE[name]
    if mod == "numpy":
        return np.__version__
    if mod in sys.modules:
        m = sys.modules[mod]
        return None if m is None else getattr(m, "__version__", "unknown")
    try:
        if importlib.util.find_spec(mod) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        return importlib.metadata.version(mod)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def available_peers():
    """Peers whose package can be imported here, in `PEERS` order."""
    return [p for p in PEERS if _peer_version(p) is not None]


def _fastinit(case, w):
    kw = {"rng": np.random.default_rng(0), "threads": w.threads}
    if w.fresh:
        kw["dtype"] = w.fi_dtype or w.dtype
        target, where = w.shape, "shape"
    else:
        if w.fi_dtype is not None:
            kw["dtype"] = w.fi_dtype
        kw["out"] = w.buf.reshape(w.shape)
        target, where = None, "out="
    if case == "uniform":
        args, shown = dict(low=_LOW, high=_HIGH), f"{_LOW}, {_HIGH}"
    elif case == "normal":
        args, shown = dict(std=_STD), f"std={_STD}"
    elif case == "truncated_normal":
        args = dict(std=_STD, lower=-_TRUNC, upper=_TRUNC)
        shown = f"std={_STD}, lower={-_TRUNC}, upper={_TRUNC}"
    elif case == "variance_scaling":
        args = dict(scale=1.0, mode="fan_in", distribution="truncated_normal")
        shown = "scale=1, mode='fan_in', distribution='truncated_normal'"
    else:
        args, shown = {}, ""
    f = getattr(fastinit, case, None)
    if f is None:
        raise _Unavailable(f"fastinit.{case} is not in this version")
    op = f"fastinit.{case}({where}{', ' + shown if shown else ''})"
    return _Prepared(lambda: f(target, **args, **kw), op, w.threads)


def _numpy(case, w):
    if w.dtype not in ("float32", "float64"):
        raise _Unavailable(f"numpy Generator has no {w.dtype} output")
    g = np.random.default_rng(0)
    dt = np.dtype(w.dtype)
    method = "random" if _FAMILY[case] == "uniform" else "standard_normal"
    draw = getattr(g, method)
    if w.fresh:
        n = w.buf.size
        return _Prepared(lambda: draw(n, dtype=dt), f"Generator.{method}(n, dtype={w.dtype})", 1)
    buf = w.buf
    return _Prepared(lambda: draw(dtype=dt, out=buf),
                     f"Generator.{method}(dtype={w.dtype}, out=)", 1)


def _numpy_mt(case, w):
    # NumPy user guide, "Multithreaded Generation": one spawned Generator per thread,
    # each filling its slice from a ThreadPoolExecutor.
    if w.dtype not in ("float32", "float64"):
        raise _Unavailable(f"numpy Generator has no {w.dtype} output")
    t = w.threads
    dt = np.dtype(w.dtype)
    method = "random" if _FAMILY[case] == "uniform" else "standard_normal"
    draws = [getattr(np.random.default_rng(s), method)
             for s in np.random.SeedSequence(0).spawn(t)]
    executor = concurrent.futures.ThreadPoolExecutor(t)
    n = w.buf.size
    step = -(-n // t)

    def fill(values):
        futures = [executor.submit(draws[i], dtype=dt, out=values[i * step:(i + 1) * step])
                   for i in range(t)]
        concurrent.futures.wait(futures)
        for fut in futures:
            fut.result()
        return values

    if w.fresh:
        fn = lambda: fill(np.empty(n, dt))                          # noqa: E731
    else:
        buf = w.buf
        fn = lambda: fill(buf)                                      # noqa: E731
    op = f"SeedSequence.spawn({t}) + ThreadPoolExecutor({t}): Generator.{method}(out=slice)"
    return _Prepared(fn, op, t, cleanup=executor.shutdown)


def _torch(case, w):
    torch = _module("torch")
    init = torch.nn.init
    tdt = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
           "bfloat16": torch.bfloat16}[w.dtype]
    fan_in = w.shape[1]                 # torch layout (out, in)
    std_vs = math.sqrt(1.0 / fan_in) / _TRUNC_STD_CORRECTION
    ops = {
        "uniform": (lambda t: init.uniform_(t, _LOW, _HIGH), f"uniform_(t, {_LOW}, {_HIGH})"),
        "normal": (lambda t: init.normal_(t, 0.0, _STD), f"normal_(t, 0, {_STD})"),
        "truncated_normal": (lambda t: init.trunc_normal_(t, 0.0, _STD, -_TRUNC * _STD,
                                                           _TRUNC * _STD),
                             f"trunc_normal_(t, 0, {_STD}, {-_TRUNC * _STD}, "
                             f"{_TRUNC * _STD})"),
        "xavier_uniform": (init.xavier_uniform_, "xavier_uniform_(t)"),
        "he_normal": (lambda t: init.kaiming_normal_(t, nonlinearity="relu"),
                      "kaiming_normal_(t, nonlinearity='relu')"),
        "variance_scaling": (lambda t: init.trunc_normal_(t, 0.0, std_vs, -_TRUNC * std_vs,
                                                          _TRUNC * std_vs),
                             "trunc_normal_(t, std=sqrt(1/fan_in)/0.8796, a=-2std, b=2std)"),
    }
    op, desc = ops[case]
    old_threads = torch.get_num_threads()
    torch.set_num_threads(w.threads)
    cleanup = lambda: torch.set_num_threads(old_threads)            # noqa: E731
    if w.fresh:
        def fn():
            t = torch.empty(w.shape, dtype=tdt)
            op(t)
            return t
        return _Prepared(fn, f"torch.nn.init.{desc} on torch.empty", w.threads, cleanup)
    raw = w.buf.view(np.uint16) if w.dtype == "bfloat16" else w.buf
    t = torch.from_numpy(raw)
    if w.dtype == "bfloat16":
        t = t.view(torch.bfloat16)
    t = t.reshape(w.shape)
    return _Prepared(lambda: op(t), f"torch.nn.init.{desc} on torch.from_numpy(buf)",
                     w.threads, cleanup)


def _jax(case, w):
    jax = _module("jax")
    import jax.numpy as jnp
    jdt = getattr(jnp, w.dtype)
    I = jax.nn.initializers
    inits = {
        "uniform": (lambda k, s, d: jax.random.uniform(k, s, d, _LOW, _HIGH),
                    f"jax.random.uniform(key, shape, dtype, {_LOW}, {_HIGH})"),
        "normal": (I.normal(_STD), f"jax.nn.initializers.normal({_STD})"),
        "truncated_normal": (I.truncated_normal(_STD, lower=-_TRUNC, upper=_TRUNC),
                             f"jax.nn.initializers.truncated_normal({_STD})"),
        "xavier_uniform": (I.glorot_uniform(), "jax.nn.initializers.glorot_uniform()"),
        "he_normal": (I.he_normal(), "jax.nn.initializers.he_normal() (truncated)"),
        "variance_scaling": (I.lecun_normal(), "jax.nn.initializers.lecun_normal() "
                                               "(variance_scaling(1, fan_in, truncated_normal))"),
    }
    init, desc = inits[case]
    shape = w.shape
    cpu = jax.devices("cpu")[0]
    key = jax.device_put(jax.random.key(0), cpu)          # jit runs where its input lives
    f = jax.jit(lambda k: init(k, shape, jdt))
    if w.dtype == "float64" and not jax.config.jax_enable_x64:
        # JAX silently computes float32 unless 64-bit mode is on: turn it on for this call only
        def fn():
            with jax.enable_x64(True):
                return f(key).block_until_ready()
        desc += " under jax.enable_x64(True)"
    else:
        fn = lambda: f(key).block_until_ready()                     # noqa: E731
    return _Prepared(fn, f"{desc}, jit, new array", "XLA default (all cores)", compiles=True)


def _mkl_random(case, w):
    mkl = _module("mkl_random")
    if case == "truncated_normal" or case == "variance_scaling":
        raise _Unavailable("mkl_random has no truncated normal")
    if w.fi_dtype is not None:
        raise _Unavailable("a raw uint16 bfloat16 buffer cannot take mkl_random's float64")
    rs = mkl.RandomState(0)
    n = w.buf.size
    rows, cols = w.shape
    if case == "uniform":
        draw, desc = (lambda: rs.uniform(_LOW, _HIGH, size=n)), f"uniform({_LOW}, {_HIGH}, n)"
    elif case == "normal":
        draw, desc = (lambda: rs.normal(0.0, _STD, size=n)), f"normal(0, {_STD}, n)"
    elif case == "xavier_uniform":
        b = math.sqrt(6.0 / (rows + cols))
        draw, desc = (lambda: rs.uniform(-b, b, size=n)), "uniform(-b, b, n)"
    else:
        s = math.sqrt(2.0 / cols)
        draw, desc = (lambda: rs.normal(0.0, s, size=n)), "normal(0, sqrt(2/fan_in), n)"
    if w.fresh:
        dt = w.buf.dtype
        return _Prepared(lambda: draw().astype(dt), f"mkl_random.RandomState.{desc}.astype()", 1)
    buf = w.buf

    def fn():
        buf[...] = draw()
        return buf
    return _Prepared(fn, f"buf[...] = mkl_random.RandomState.{desc}", 1)


_IMPLS = {"fastinit": _fastinit, "numpy": _numpy, "numpy-mt": _numpy_mt, "torch": _torch,
          "jax": _jax, "mkl_random": _mkl_random}
