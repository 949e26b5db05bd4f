"""`patch`: route ``torch.nn.init`` to fastinit.torch's functions while it is active.

Installs a copy of each of fastinit's functions (its own identity) in ``torch.nn.init``, in
the modules of torch that bind them by name, in the registries frameworks call through and
(``scan_modules``) in other modules' ``from torch.nn.init import X`` bindings; on exit puts
back what was there and sweeps the copies that code took meanwhile. The configurations of the
active patches live in state.py; what this module installed is recorded here.
"""

import contextlib
import functools
import importlib
import sys
import types

import numpy as np

from .functions import _OURS
from .state import _CONFIGS, _INIT, _ORIG, _STATE_LOCK, TORCH_NAMES, _Config


def _make_routed(name):
    """The function object patch() installs for torch.nn.init.<name>.

    A copy of fastinit's function with its own identity, so that whatever holds it after the
    patch has ended can be told apart from code that uses fastinit.torch on purpose. Called
    while a patch is active it is fastinit's function; called after every patch has ended (a
    reference that escaped the exit sweep: a closure, an instance attribute) it is the function
    torch.nn.init held before the patch.
    """
    ours = _OURS[name]

    @functools.wraps(ours)
    def routed(*args, **kwargs):
        if _CONFIGS:
            return ours(*args, **kwargs)
        return _PREV.get(name, _ORIG[name])(*args, **kwargs)
    return routed


_ROUTED = {name: _make_routed(name) for name in _OURS}
_ROUTED_NAME = {id(f): name for name, f in _ROUTED.items()}
#: name -> what torch.nn.init held when the last patch began (a routed function restores to it)
_PREV = {}
#: sys.modules when the outermost patch began: modules not in it are swept on exit
_MODULES_BEFORE = {}
#: references to each routed function when the outermost patch began
_HOLDERS_BEFORE = []

#: (namespace dict, key, previous value, our value) of every replacement made, in order
_INSTALLED = []

#: Modules that bind torch.nn.init functions by name at import (torch 2.13):
#: activation.py ``from torch.nn.init import constant_, xavier_normal_, xavier_uniform_``
#: (nn.MultiheadAttention), transformer.py ``from torch.nn.init import xavier_uniform_``.
_BY_NAME = ("torch.nn.modules.activation", "torch.nn.modules.transformer")
#: Registries of torch.nn.init functions that frameworks call through: (module, dict name).
#: transformers 5 calls every init through ``initialization.TORCH_INIT_FUNCTIONS``.
_REGISTRIES = (("transformers.initialization", "TORCH_INIT_FUNCTIONS"),)
#: Containers larger than this are not searched by the exit sweep (none of the places above
#: is anywhere near it; leftovers there still call torch's function after the patch).
_SWEEP_MAX = 4096


def _route_entry(d, key, repl):
    val = d.get(key)
    hit = repl.get(id(val))
    if hit is not None and hit[0] is val:
        _INSTALLED.append((d, key, val, hit[1]))
        d[key] = hit[1]


def _install(scan_modules):
    """Route torch.nn.init, torch's by-name imports, the known registries and (scan_modules)
    the ``from torch.nn.init import X`` bindings of other modules to fastinit."""
    for modname in _BY_NAME:                    # make sure they are loaded
        importlib.import_module(modname)
    _MODULES_BEFORE.clear()
    _MODULES_BEFORE.update(sys.modules)
    _HOLDERS_BEFORE[:] = _holders()
    repl = {}                                   # id(torch's function) -> (it, routed, name)
    ns = vars(_INIT)
    for name, routed in _ROUTED.items():
        orig = _ORIG[name]
        repl[id(orig)] = (orig, routed, name)
        cur = ns.get(name)
        if cur is routed or cur is None:        # left there by the user: nothing to replace
            continue
        # (a replacement the user installed here is routed in torch.nn.init only: elsewhere,
        # e.g. in the module that defines it, it is that module's own function)
        _PREV[name] = cur
        _INSTALLED.append((ns, name, cur, routed))
        ns[name] = routed
    for modname in _BY_NAME:
        d = vars(sys.modules[modname])
        for key in list(d):
            _route_entry(d, key, repl)
    for modname, attr in _REGISTRIES:
        reg = getattr(sys.modules.get(modname), attr, None)
        if type(reg) is dict:
            for key in list(reg):
                _route_entry(reg, key, repl)
    if not scan_modules:
        return
    # Other modules: only a module attribute that is torch's function bound under its own
    # name (``from torch.nn.init import normal_``). Aliases (``ref = init.normal_``), dicts,
    # and the __main__ script's names are the user's own references: left alone.
    skip = {"__main__", _INIT.__name__, *_BY_NAME}
    main = sys.modules.get("__main__")
    for modname, mod in list(sys.modules.items()):
        if (mod is None or mod is main or modname in skip
                or modname.split(".")[0] == "fastinit"):
            continue
        d = getattr(mod, "__dict__", None)
        if type(d) is not dict:
            continue
        for name in TORCH_NAMES:
            if name in d:
                hit = repl.get(id(d[name]))
                if hit is not None and hit[2] == name:
                    _route_entry(d, name, repl)


def _unroute(val, modname, depth):
    """`val` with every routed function in it replaced by what it stands for (containers and
    classes are updated in place; a tuple or partial holding one is rebuilt)."""
    name = _ROUTED_NAME.get(id(val))
    if name is not None and val is _ROUTED[name]:
        return _PREV.get(name, _ORIG[name])
    if depth <= 0:
        return val
    t = type(val)
    if t is dict and len(val) <= _SWEEP_MAX:
        for k, v in list(val.items()):
            nv = _unroute(v, modname, depth - 1)
            if nv is not v:
                val[k] = nv
    elif t is list and len(val) <= _SWEEP_MAX:
        for i, v in enumerate(list(val)):
            nv = _unroute(v, modname, depth - 1)
            if nv is not v:
                val[i] = nv
    elif t is tuple and len(val) <= _SWEEP_MAX:
        new = tuple(_unroute(v, modname, depth - 1) for v in val)
        if any(a is not b for a, b in zip(new, val)):
            return new
    elif t is functools.partial:
        f = _unroute(val.func, modname, 0)
        if f is not val.func:
            return functools.partial(f, *val.args, **val.keywords)
    elif t in (staticmethod, classmethod):
        f = _unroute(val.__func__, modname, 0)
        if f is not val.__func__:
            return t(f)
    elif depth < 2:
        pass
    elif issubclass(t, type) and vars(val).get("__module__") == modname:
        for k, v in list(vars(val).items()):
            nv = _unroute(v, modname, depth - 1)
            if nv is not v:
                try:
                    setattr(val, k, nv)
                except (AttributeError, TypeError):
                    pass
    elif t is types.FunctionType and val.__module__ == modname:
        if val.__defaults__:
            new = _unroute(val.__defaults__, modname, 1)
            if new is not val.__defaults__:
                val.__defaults__ = new
        if val.__kwdefaults__:
            _unroute(val.__kwdefaults__, modname, 1)
    return val


def _holders():
    """How many references each routed function has (more than at the patch's start: some
    code took one during the patch and still holds it)."""
    return [sys.getrefcount(f) for f in _ROUTED.values()]


def _sweep(before):
    """After the patch: restore the routed functions that loaded modules still hold.

    Runs only when a routed function has more references than when the patch began. Modules
    first imported during the patch are searched thoroughly (their globals, the dicts, lists
    and tuples they hold, their classes' attributes, their functions' defaults): whatever they
    bound from torch.nn.init then was the patch's function. Then, if references remain, older
    modules' globals. Routed functions are only ever installed by patch(), so nothing else is
    touched; a reference found nowhere (a closure, an object) calls torch's function once no
    patch is active.
    """
    if all(a <= b for a, b in zip(_holders(), before)):
        return
    new, old = [], []
    for modname, mod in list(sys.modules.items()):
        d = getattr(mod, "__dict__", None)
        if type(d) is not dict or modname.split(".")[0] == "fastinit":
            continue
        (new if _MODULES_BEFORE.get(modname) is not mod else old).append((modname, d))
    for modname, d in new:
        found = False
        for key, val in list(d.items()):
            nv = _unroute(val, modname, 3)
            if nv is not val:
                d[key] = nv
                found = True
            elif type(val) in (dict, list) or issubclass(type(val), type):
                found = True                  # may have been updated in place
        if found and all(a <= b for a, b in zip(_holders(), before)):
            return
    if all(a <= b for a, b in zip(_holders(), before)):
        return
    ids = _ROUTED_NAME
    for modname, d in old:
        for key in [k for k, v in d.items() if id(v) in ids]:
            d[key] = _unroute(d[key], modname, 0)


def _uninstall():
    while _INSTALLED:
        d, key, prev, ours = _INSTALLED.pop()
        if d.get(key) is ours:
            d[key] = prev
        d = key = prev = ours = None          # hold no reference while counting them
    _sweep(_HOLDERS_BEFORE)
    _MODULES_BEFORE.clear()


class patch(contextlib.ContextDecorator):
    r"""Route ``torch.nn.init`` to fastinit while active: a context manager and a decorator.

    Replaces every public function of ``torch.nn.init`` with fastinit.torch's, and the names
    that ``torch.nn.modules.activation`` (``nn.MultiheadAttention``) and
    ``torch.nn.modules.transformer`` (``nn.Transformer``) import directly, and the values of
    ``transformers.initialization.TORCH_INIT_FUNCTIONS`` (what transformers models call).
    ``kaiming_uniform_``/``kaiming_normal_`` in torch 2.13 call ``tensor.uniform_``/
    ``tensor.normal_`` themselves rather than ``init.uniform_``, so they are replaced as whole
    functions, which is what ``nn.Linear``/``nn.Conv*`` call. With ``scan_modules=True``
    (default) any other loaded module whose attribute is torch's function under its own name
    (``from torch.nn.init import trunc_normal_``) is routed too; references under another
    name (``ref = init.normal_``), in the module's dicts or lists, and in the ``__main__``
    script are the user's own and keep torch's functions.

    What is installed is a copy of fastinit's function with its own identity. On exit (also on
    an exception) every replaced name gets its previous value back, and every module still
    holding an installed copy is swept: a module first imported inside the patch that bound
    ``torch.nn.init`` functions (by name, in a dict such as transformers'
    ``TORCH_INIT_FUNCTIONS``, a list, a class attribute, a default argument) gets the
    function ``torch.nn.init`` held before the patch. A copy that escapes the sweep (captured
    in a closure or an object) calls that function too once no patch is active. Nesting is
    safe (the innermost active patch's settings apply, the originals come back when the
    outermost exits). The routing is process-wide (all threads), like any monkeypatch.

    Inside the patch, meta tensors are passed to torch's functions (a no-op), so
    ``with torch.device('meta'): model = Model()`` keeps working.

    Parameters
    ----------
    rng : None, int, SeedSequence or numpy Generator, optional
        None (default): each call draws its seed from torch's RNG (so ``torch.manual_seed``
        makes construction reproducible). Otherwise one numpy Generator made from `rng` is
        consumed call after call: the model's values then depend only on `rng`.
    threads : int, optional
        Threads for the fills.
    scan_modules : bool
        Also route ``from torch.nn.init import X`` bindings in other loaded modules (not
        ``__main__``).

    Examples
    --------
    >>> import torch, fastinit.torch as ft
    >>> with ft.patch(rng=0):
    ...     layer = torch.nn.Linear(512, 512)
    >>> @ft.patch                          # or @ft.patch(rng=0)
    ... def build():
    ...     return torch.nn.TransformerEncoderLayer(256, 4)
    """

    def __new__(cls, rng=None, **kwargs):
        if callable(rng) and not isinstance(rng, (np.random.Generator, np.random.BitGenerator)):
            return cls(**kwargs)(rng)             # used bare: @fastinit.torch.patch
        return super().__new__(cls)

    def __init__(self, rng=None, *, threads=None, scan_modules=True):
        if rng is not None:
            from .. import _rng
            _rng.resolve(rng)                     # validate early, consume nothing
        self._rng = rng
        self._threads = threads
        self._scan = scan_modules
        self._resolver = None
        self._tokens = []

    def _recreate_cm(self):
        return self

    def __enter__(self):
        cfg = _Config(self._rng, self._threads, self._resolver)
        with _STATE_LOCK:
            if not _CONFIGS:
                try:
                    _install(self._scan)
                except BaseException:
                    _uninstall()
                    raise
            _CONFIGS.append(cfg)
        self._tokens.append(cfg)
        return self

    def __exit__(self, *exc):
        cfg = self._tokens.pop()
        with _STATE_LOCK:
            for i in range(len(_CONFIGS) - 1, -1, -1):
                if _CONFIGS[i] is cfg:
                    del _CONFIGS[i]
                    break
            if not _CONFIGS:
                _uninstall()
        return False

    @staticmethod
    def active():
        """Whether a patch() is active."""
        return bool(_CONFIGS)
