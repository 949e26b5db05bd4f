"""fastinit.torch.patch() leaves nothing behind: modules first imported inside the patch,
transformers' registry, user replacements of torch.nn.init, reloads (no recursion)."""

import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
import fastinit  # noqa: E402
import fastinit.torch as ft  # noqa: E402

NAMES = tuple(torch.nn.init.__all__)
ORIG = {n: getattr(torch.nn.init, n) for n in NAMES}
FASTINIT_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))


def is_torchs(fn, name):
    return fn is ORIG[name] and fn.__module__ == "torch.nn.init"


def is_routed(fn, name):
    return getattr(fn, "__wrapped__", None) is getattr(ft, name) and fn is not getattr(ft, name)


THROWAWAY = '''
import functools
import torch
import torch.nn.init as I
from torch.nn.init import normal_, xavier_uniform_ as xu, kaiming_uniform_, trunc_normal_

INITS = {"normal_": normal_, "nested": {"xu": xu}, "n": 3}
LIST = [normal_, 1]
TUP = (kaiming_uniform_, "x")
PART = functools.partial(trunc_normal_, std=0.02)
ALIAS = I.uniform_


class Model:
    init_fn = normal_
    static = staticmethod(xu)

    def reset(self, w, fn=kaiming_uniform_, *, kfn=normal_):
        return fn, kfn


def _closure(f):
    return lambda t: f(t)


HIDDEN = _closure(normal_)
'''


def _import_fresh(tmp_path, name, text=THROWAWAY):
    (tmp_path / f"{name}.py").write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_module_imported_inside_patch_is_restored(tmp_path):
    with ft.patch(rng=0):
        mod = _import_fresh(tmp_path, "fi_throwaway_a")
        assert is_routed(mod.normal_, "normal_") and is_routed(mod.INITS["normal_"], "normal_")
    try:
        for fn, name in [(mod.normal_, "normal_"), (mod.xu, "xavier_uniform_"),
                         (mod.kaiming_uniform_, "kaiming_uniform_"),
                         (mod.INITS["normal_"], "normal_"),
                         (mod.INITS["nested"]["xu"], "xavier_uniform_"),
                         (mod.LIST[0], "normal_"), (mod.TUP[0], "kaiming_uniform_"),
                         (mod.PART.func, "trunc_normal_"), (mod.ALIAS, "uniform_"),
                         (mod.Model.init_fn, "normal_"), (mod.Model.static, "xavier_uniform_"),
                         (mod.Model.reset.__defaults__[0], "kaiming_uniform_"),
                         (mod.Model.reset.__kwdefaults__["kfn"], "normal_")]:
            assert is_torchs(fn, name), (name, fn)
        assert mod.INITS["n"] == 3 and mod.LIST[1] == 1 and mod.TUP[1] == "x"
        assert mod.PART.keywords == {"std": 0.02}
        # a reference no sweep can reach (a closure) calls torch's function after the patch
        a, b = torch.empty(64), torch.empty(64)
        torch.manual_seed(5)
        torch.nn.init.normal_(a)
        torch.manual_seed(5)
        mod.HIDDEN(b)
        assert torch.equal(a, b)
    finally:
        sys.modules.pop("fi_throwaway_a", None)


def test_leaked_reference_is_fastinit_again_inside_a_later_patch(tmp_path):
    with ft.patch():
        mod = _import_fresh(tmp_path, "fi_throwaway_b")
    try:
        with ft.patch(rng=3):
            t = torch.empty(40, 30)
            mod.HIDDEN(t)                       # routed copy captured in a closure
        want = fastinit.normal((40, 30), 0.0, 1.0, rng=3)
        assert (t.numpy() == want).all()
    finally:
        sys.modules.pop("fi_throwaway_b", None)


def test_module_imported_inside_patch_that_uses_fastinit_keeps_it(tmp_path):
    """fastinit.torch's own functions are never swept: only the patch's copies are."""
    text = ("import fastinit.torch as ft\nfrom fastinit.torch import normal_\n"
            "TABLE = {'n': ft.xavier_uniform_}\n")
    with ft.patch():
        mod = _import_fresh(tmp_path, "fi_throwaway_c", text)
    try:
        assert mod.normal_ is ft.normal_ and mod.TABLE["n"] is ft.xavier_uniform_
    finally:
        sys.modules.pop("fi_throwaway_c", None)


def test_user_replacement_with_fastinit_functions():
    """torch.nn.init already holding fastinit.torch's functions: no recursion anywhere, and
    patch() gives the user's replacement back."""
    ns = vars(torch.nn.init)
    saved = {n: ns[n] for n in NAMES}
    try:
        for n in NAMES:
            ns[n] = getattr(ft, n)
        ints = torch.zeros(4, 5, dtype=torch.int32)        # handed to torch's functions
        torch.manual_seed(0)
        for n in ("uniform_", "normal_", "xavier_uniform_", "kaiming_uniform_",
                  "kaiming_normal_", "xavier_normal_", "constant_", "zeros_", "ones_"):
            args = (0.5,) if n == "constant_" else ()
            try:
                getattr(torch.nn.init, n)(ints, *args)
            except (RuntimeError, NotImplementedError, ValueError, TypeError):
                pass                          # torch's own error for an integer tensor
        assert torch.nn.init.calculate_gain("tanh") == 5 / 3
        lin = torch.nn.Linear(8, 8)           # torch's modules through the replacement
        with ft.patch(rng=0):
            assert is_routed(torch.nn.init.normal_, "normal_")
            torch.nn.Linear(8, 8)
        assert all(ns[n] is getattr(ft, n) for n in NAMES)
        assert lin.weight.abs().max() <= 1 / 8 ** 0.5
    finally:
        ns.update(saved)


def test_user_wrapper_module_keeps_its_own_function(tmp_path):
    """torch.nn.init.normal_ replaced by a wrapper defined in a user's module: the patch routes
    torch.nn.init, never the wrapper's own definition, and gives the wrapper back on exit."""
    text = ("import torch\nCALLS = []\n_torchs = torch.nn.init.normal_\n"
            "def normal_(t, *a, **k):\n    CALLS.append(1)\n    return _torchs(t, *a, **k)\n")
    mod = _import_fresh(tmp_path, "fi_wrapper_d", text)
    ns = vars(torch.nn.init)
    saved = ns["normal_"]
    ns["normal_"] = mod.normal_
    try:
        with ft.patch():
            assert is_routed(torch.nn.init.normal_, "normal_")
            assert mod.normal_.__module__ == "fi_wrapper_d"
            mod.normal_(torch.empty(3))
        assert mod.CALLS == [1]
        assert torch.nn.init.normal_ is mod.normal_
    finally:
        ns["normal_"] = saved
        sys.modules.pop("fi_wrapper_d", None)


def _run(code, **env):
    e = dict(os.environ, PYTHONPATH=FASTINIT_PARENT + os.pathsep + os.environ.get(
        "PYTHONPATH", ""), **env)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, env=e, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_reload_with_fastinit_functions_installed():
    out = _run("""
        import importlib, json, sys, torch, fastinit.torch as ft

        def reimport():
            # a fresh execution of every module of the package (importlib.reload(ft) re-runs
            # only its __init__): torch's functions are captured again
            for m in [m for m in sys.modules if m.startswith("fastinit.torch")]:
                del sys.modules[m]
            return importlib.import_module("fastinit.torch")

        orig = torch.nn.init.normal_
        torch.nn.init.normal_ = ft.normal_
        with ft.patch():
            importlib.reload(ft)              # while the patch's copies are installed
            reimport()
        ft2 = importlib.reload(reimport())
        t = torch.zeros(3, 3, dtype=torch.int64)
        try:
            ft2.normal_(t)                    # handed to torch: must not recurse
            err = None
        except RecursionError:
            err = "recursion"
        except Exception as e:
            err = type(e).__name__
        orig2 = sys.modules["fastinit.torch.state"]._ORIG["normal_"]
        print(json.dumps({"orig": orig2 is orig, "err": err}))
    """)
    assert out["orig"] and out["err"] != "recursion", out


LLAMA = """
    import hashlib, json, sys, torch
    import transformers
    assert "transformers.initialization" not in sys.modules      # imported lazily
    cfg = transformers.LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=64,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, max_position_embeddings=32)

    def digest(m):
        h = hashlib.sha256()
        for k, v in sorted(m.state_dict().items()):
            h.update(k.encode()); h.update(v.detach().contiguous().view(torch.uint8).numpy())
        return h.hexdigest()

    out = {}
    if PATCH:
        import fastinit.torch as ft
        with ft.patch(rng=0):
            a = transformers.LlamaForCausalLM(cfg)
        with ft.patch(rng=0):
            b = transformers.LlamaForCausalLM(cfg)
        out["inside_same"] = digest(a) == digest(b)
        out["inside_std"] = float(a.model.layers[0].mlp.up_proj.weight.std())
        import transformers.initialization as ti
        out["registry_torchs"] = all(
            f is getattr(torch.nn.init, k) and f.__module__ == "torch.nn.init"
            for k, f in ti.TORCH_INIT_FUNCTIONS.items())
    torch.manual_seed(0)
    out["after"] = digest(transformers.LlamaForCausalLM(cfg))
    print(json.dumps(out))
"""


def test_transformers_llama_after_patch_is_torchs():
    """transformers.initialization is first imported inside the patch (import transformers
    is lazy): a model built after the patch equals one built in a process that never
    patched, bit for bit."""
    pytest.importorskip("transformers")
    patched = _run("PATCH = True\n" + textwrap.dedent(LLAMA))
    plain = _run("PATCH = False\n" + textwrap.dedent(LLAMA))
    assert patched["registry_torchs"], patched
    assert patched["inside_same"] and abs(patched["inside_std"] / 0.02 - 1) < 0.15, patched
    assert patched["after"] == plain["after"]
