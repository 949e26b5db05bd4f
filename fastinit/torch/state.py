"""What the torch back end's calls read at run time, kept in this one module.

torch's own ``torch.nn.init`` functions (captured at import: what fastinit.torch delegates
to), the stack of active `patch` configurations, and the `build` deferral collecting this
thread's fills. The other submodules read these here, never through copies of their own.
"""

import threading

import numpy as np
import torch

_INIT = torch.nn.init
#: The public names of torch.nn.init that fastinit.torch mirrors (torch 2.13's __all__).
TORCH_NAMES = tuple(_INIT.__all__)


def _is_fastinit_torch(fn):
    mod = getattr(fn, "__module__", None)
    return isinstance(mod, str) and mod.startswith(__package__ + ".")


def _torch_original(name):
    """torch.nn.init.<name> as torch defines it.

    If fastinit.torch's own function sits there (put there by the user, or by a patch() of an
    earlier execution of this package, as a re-import leaves it), delegating to it would
    recurse: the original that execution captured is taken instead. (The modules defining
    fastinit's functions and patch()'s copies of them bind `_ORIG` in their globals.)
    """
    fn = getattr(_INIT, name)
    seen = set()
    while _is_fastinit_torch(fn):
        earlier = (getattr(fn, "__globals__", None) or {}).get("_ORIG") or {}
        if name not in earlier or id(fn) in seen:
            raise ImportError(f"torch.nn.init.{name} is a fastinit.torch function whose "
                              f"original is unknown; restore torch's function first")
        seen.add(id(fn))
        fn = earlier[name]
    return fn


# torch's own functions, captured at import: what fastinit.torch delegates to. (torch's private
# _no_grad_* helpers are not replaced: torch's functions, called for what fastinit hands back
# to torch, look them up in torch.nn.init at call time.)
_ORIG = {name: _torch_original(name) for name in TORCH_NAMES}


# --- the active patch() configuration ------------------------------------------------------

class _Config:
    """Defaults of the calls made while a patch() (or init_module) is active."""

    def __init__(self, rng=None, threads=None, resolver=None):
        self.gen = None if rng is None else (
            rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng))
        self.threads = threads
        self.resolver = resolver          # tensor -> rng or None (init_module's per-name seeds)


_STATE_LOCK = threading.RLock()
_CONFIGS = []          # active configurations, innermost last


def _active():
    return _CONFIGS[-1] if _CONFIGS else None


# --- the build() deferral of this thread ------------------------------------------------------

_local = threading.local()


def active_deferral():
    """The construction.Deferral collecting this thread's fills, or None."""
    return getattr(_local, "deferral", None)


class deferring:
    """Context: this thread's fastinit.torch fills go to `deferral` (None: none)."""

    def __init__(self, deferral):
        self.deferral = deferral

    def __enter__(self):
        self.prev = active_deferral()
        _local.deferral = self.deferral
        return self.deferral

    def __exit__(self, *exc):
        _local.deferral = self.prev
        return False
