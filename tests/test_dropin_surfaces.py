"""The drop-in modules against the installed frameworks: every public name of
torch.nn.init / jax.nn.initializers / keras.initializers is in fastinit.torch / fastinit.jax /
fastinit.keras with the framework's signature, and replacing the framework's functions with
fastinit's (monkeypatching) never sends fastinit into itself."""

import inspect
import json
import os
import subprocess
import sys
import textwrap

import pytest

import fastinit

FASTINIT_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))


def _params(fn):
    return [(p.name, p.default, p.kind) for p in inspect.signature(fn).parameters.values()]


def _run(code, **env):
    e = dict(os.environ, PYTHONPATH=FASTINIT_PARENT + os.pathsep + os.environ.get(
        "PYTHONPATH", ""), **env)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, env=e, timeout=600)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")]
    assert r.returncode == 0 and lines, r.stdout[-2000:] + r.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT"):])


# --- torch -------------------------------------------------------------------------------------

def test_torch_surface():
    torch = pytest.importorskip("torch")
    import fastinit.torch as ft
    init = torch.nn.init
    defined = {n for n, v in vars(init).items() if not n.startswith("_") and callable(v)
               and getattr(v, "__module__", None) == init.__name__}
    assert defined == set(init.__all__)          # torch's public API is its __all__
    assert set(init.__all__) <= set(ft.__all__)
    for name in init.__all__:
        ours, theirs = getattr(ft, name), getattr(init, name)
        assert callable(ours) and ours.__name__ == theirs.__name__, name
        p_ours, p_theirs = _params(ours), _params(theirs)
        assert p_ours[:len(p_theirs)] == p_theirs, name
        assert all(k is inspect.Parameter.KEYWORD_ONLY for _, _, k in p_ours[len(p_theirs):])


# --- jax ---------------------------------------------------------------------------------------

def _jax():
    jax = pytest.importorskip("jax")
    import jax.nn.initializers as JI
    import fastinit.jax as fj
    return jax, JI, fj


FACTORY_ARGS = {"variance_scaling": (1.0, "fan_in", "normal")}


def test_jax_surface():
    jax, JI, fj = _jax()
    public = sorted(n for n in dir(JI) if not n.startswith("_"))
    for name in public:
        ours, theirs = getattr(fj, name), getattr(JI, name)
        assert name in fj.__all__, name
        if ours is theirs:                       # constant, zeros, ones, Initializer
            continue
        assert _params(ours) == _params(theirs), name
        args = FACTORY_ARGS.get(name, ())
        init = ours(*args)
        assert isinstance(init, JI.Initializer), name
        p = _params(init)
        assert p[:4] == _params(theirs(*args))[:4] and p[4][0] == "rng", name


def test_jax_monkeypatched_with_fastinit_does_not_recurse(monkeypatch):
    """jax.nn.initializers.<name> = fastinit.jax.<name>, then fastinit.jax.<name>(): JAX's
    functions were captured at import."""
    jax, JI, fj = _jax()
    import jax.numpy as jnp
    factories = [n for n in dir(JI)
                 if not n.startswith("_") and getattr(fj, n) is not getattr(JI, n)]
    for name in factories:
        monkeypatch.setattr(JI, name, getattr(fj, name))
    key = jax.random.key(0)
    for name in factories:
        shape = (3, 3, 4, 6) if name == "delta_orthogonal" else (6, 5)
        make = getattr(fj, name)
        out = make(*FACTORY_ARGS.get(name, ()))(key, shape, jnp.float32)
        assert out.shape == shape, name
        with pytest.raises(Exception) as e:      # JAX's own error, not a RecursionError
            make(*FACTORY_ARGS.get(name, ()))(key, shape, "not a dtype")
        assert not isinstance(e.value, RecursionError), name


def test_jax_reload_with_fastinit_installed():
    pytest.importorskip("jax")
    out = _run("""
        import importlib, json, sys
        import jax.nn.initializers as JI, fastinit.jax as fj
        orig = JI.normal
        JI.normal, JI.variance_scaling = fj.normal, fj.variance_scaling
        fj2 = importlib.reload(fj)
        # reloading the package re-runs only its __init__: a fresh import of the package and
        # all its submodules is what captures JAX's functions again
        old = sys.modules["fastinit.jax.originals"]
        for name in [m for m in sys.modules if m.startswith("fastinit.jax")]:
            del sys.modules[name]
        fj3 = importlib.import_module("fastinit.jax")
        ref = sys.modules["fastinit.jax.originals"]._ref
        ok = (fj3 is not fj and ref is not old._ref and ref.normal is orig
              and ref.variance_scaling.__module__.split(".")[0] != "fastinit")
        shapes = [f()(None, (4, 3), rng=1).shape
                  for f in (fj2.normal, fj2.he_normal, fj3.normal, fj3.he_normal)]
        print("RESULT" + json.dumps({"ok": ok, "shapes": shapes}))
    """)
    assert out["ok"] and out["shapes"] == [[4, 3]] * 4, out


# --- keras -------------------------------------------------------------------------------------

KERAS = r'''
import inspect, json
import numpy as np
import keras
import fastinit.keras as fk
from keras.src.initializers import ALL_OBJECTS_DICT

K = keras.initializers
res = {"backend": keras.backend.backend(), "fail": [], "n": 0}

def check(ok, what):
    res["n"] += 1
    if not ok:
        res["fail"].append(what)

def params(fn):
    return [(p.name, repr(p.default), str(p.kind))
            for p in inspect.signature(fn).parameters.values()]

public = sorted(n for n in dir(K) if not n.startswith("_"))
for name in public:
    check(hasattr(fk, name) and name in fk.__all__, f"{name} missing")
    ours, theirs = getattr(fk, name, None), getattr(K, name)
    if inspect.isclass(theirs):
        check(inspect.isclass(ours) and issubclass(ours, theirs), f"{name} not a subclass")
        check(params(ours.__init__) == params(theirs.__init__), f"{name} __init__ signature")
    else:
        check(params(ours) == params(theirs), f"{name} signature {params(ours)}")

# every name Keras's get/deserialize resolve: fastinit's subclass where it draws, Keras's else
for name, cls in ALL_OBJECTS_DICT.items():
    if name == "Initializer":
        continue
    try:
        want = type(K.get(name))
    except Exception as e:
        want = type(e)
    try:
        got = type(fk.get(name))
    except Exception as e:
        got = type(e)
    check(issubclass(got, want), f"get({name!r}): {got} vs {want}")
    if want.__name__ in ("RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
                         "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
                         "LecunUniform", "LecunNormal", "Orthogonal"):
        check(got.__module__ == "fastinit.keras", f"get({name!r}) is not fastinit's: {got}")
    if not issubclass(want, Exception):
        cfg = K.serialize(K.get(name))
        check(type(fk.deserialize(cfg)) is got, f"deserialize({name!r})")
for bad in ("bogus", {"class_name": "Bogus", "config": {}}, 3):
    msgs = []
    for mod in (K, fk):
        try:
            mod.get(bad)
            msgs.append("ok")
        except Exception as e:
            msgs.append(f"{type(e).__name__}: {e}")
    check(msgs[0] == msgs[1], f"get({bad!r}) errors: {msgs}")
check(fk.get(None) is None and fk.get(fk.Zeros) is not None, "get(None / class)")
fn = lambda shape, dtype=None: keras.ops.zeros(shape, dtype)
check(fk.get(fn) is fn, "get(callable)")
stft = fk.get("stft")((8, 1, 6))
check(np.array_equal(keras.ops.convert_to_numpy(stft),
                     keras.ops.convert_to_numpy(K.STFT()((8, 1, 6)))), "STFT values")

# monkeypatching keras.initializers with fastinit's: no recursion anywhere
SHAPES = {n: K.get(n)((8, 1, 6) if n == "stft" else (4, 4)).shape
          for n in ("he_normal", "glorot_uniform", "normal", "zeros", "orthogonal", "stft")}
for name in public:
    setattr(K, name, getattr(fk, name))
for name in ("he_normal", "glorot_uniform", "normal", "zeros", "orthogonal", "stft"):
    try:
        a = fk.get(name)
        shape = (8, 1, 6) if name == "stft" else (4, 4)
        check(tuple(a(shape).shape) == tuple(SHAPES[name]), f"{name} shape")
        check(type(K.get(name)) is type(a), f"patched keras get({name!r})")
    except RecursionError:
        check(False, f"get({name!r}) recursion")
try:
    check(fk.get(None) is None, "get(None)")
    check(type(fk.deserialize({"class_name": "HeUniform", "config": {"seed": 1}}))
          is fk.HeUniform, "deserialize after patch")
    layer = keras.layers.Dense(3, kernel_initializer=K.get("he_normal"))
    layer.build((None, 5))
    check(type(layer.kernel_initializer) is fk.HeNormal, "Dense with the patched get's")
except RecursionError:
    check(False, "recursion after monkeypatching")
print("RESULT" + json.dumps(res))
'''

# keras, jax and torch are all in the test extra: a missing one fails the test, never skips it
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_surface_and_monkeypatching(backend):
    res = _run(KERAS, KERAS_BACKEND=backend)
    assert res["backend"] == backend
    assert not res["fail"], "\n".join(res["fail"][:30])
    assert res["n"] >= 150, res["n"]
