"""`init_module`: re-initialise a model's parameters, each from a stream of its own name.

The per-layer handlers reproduce torch's ``reset_parameters`` schemes through fastinit's
functions; modules with a reset method of their own run it under `patch`, each call routed to
the per-name stream of the parameter it writes. Known schemes are deferred and written in one
batched engine call (construction.py).
"""

import contextlib
import math
import warnings

import numpy as np
import torch

from ..seeding import seed_for
from .construction import Deferral, guarding
from .distributed import _dtensor_type, shard_block
from .functions import (constant_, kaiming_uniform_, normal_, ones_, uniform_, xavier_normal_,
                        xavier_uniform_, zeros_)
from .patching import patch
from .state import deferring
from .streams import _draw_seed, _is_generator
from .validation import _calculate_fan_in_and_fan_out
from .writing import _is_meta


def _model_seed(seed, rng, generator):
    given = [x is not None for x in (seed, rng, generator)]
    if sum(given) > 1:
        raise ValueError("pass at most one of seed=, rng= and generator=")
    if seed is not None:
        seed_for(seed, "")                        # type checks
        return seed
    if rng is not None:
        if _is_generator(rng):
            g = rng if isinstance(rng, np.random.Generator) else np.random.Generator(rng)
            return int(g.integers(0, 2**63 - 1))
        if isinstance(rng, np.random.SeedSequence):
            return rng
        seed_for(rng, "")
        return rng
    return _draw_seed(generator)


def _known_handlers():
    nn = torch.nn
    from torch.nn.modules.batchnorm import _NormBase
    from torch.nn.modules.conv import _ConvNd
    from torch.nn.modules.rnn import RNNBase, RNNCellBase
    table = [
        (nn.Linear, "reset_parameters", _init_linear),
        (_ConvNd, "reset_parameters", _init_linear),
        (nn.Bilinear, "reset_parameters", _init_bilinear),
        (nn.Embedding, "reset_parameters", _init_embedding),
        (nn.EmbeddingBag, "reset_parameters", _init_embedding),
        (_NormBase, "reset_parameters", _init_batchnorm),
        (nn.LayerNorm, "reset_parameters", _init_affine),
        (nn.GroupNorm, "reset_parameters", _init_affine),
        (RNNBase, "reset_parameters", _init_rnn),
        (RNNCellBase, "reset_parameters", _init_rnn),
        (nn.MultiheadAttention, "_reset_parameters", _init_mha),
        (nn.Transformer, "_reset_parameters", _init_transformer),
        (nn.PReLU, "reset_parameters", _init_prelu),
    ]
    if hasattr(nn, "RMSNorm"):
        table.append((nn.RMSNorm, "reset_parameters", _init_affine))
    return table


def _handler_for(module, table):
    """(handler or None, custom reset method name or None)."""
    for cls, meth, fn in table:
        if isinstance(module, cls):
            if getattr(type(module), meth, None) is getattr(cls, meth):
                return fn, None
            return None, meth                    # a subclass with its own reset: use it
    for meth in ("reset_parameters", "_reset_parameters"):
        if callable(getattr(module, meth, None)):
            return None, meth
    return None, None


class _Ctx:
    def __init__(self, seed, names, threads):
        self.seed = seed
        self.names = names                       # id(param) -> qualified name
        self.threads = threads
        self.done = set()

    def rng(self, p):
        return seed_for(self.seed, self.names[id(p)])

    def mark(self, p):
        self.done.add(id(p))


def _init_linear(m, c):
    kaiming_uniform_(m.weight, a=math.sqrt(5), rng=c.rng(m.weight), threads=c.threads)
    c.mark(m.weight)
    if m.bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(tuple(m.weight.shape))
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(m.bias, -bound, bound, rng=c.rng(m.bias), threads=c.threads)
        c.mark(m.bias)


def _init_bilinear(m, c):
    if m.in1_features <= 0:
        raise ValueError(f"in1_features must be > 0, but got (in1_features={m.in1_features})")
    bound = 1 / math.sqrt(m.weight.size(1))
    for p in (m.weight, m.bias):
        if p is not None:
            uniform_(p, -bound, bound, rng=c.rng(p), threads=c.threads)
            c.mark(p)


def _init_embedding(m, c):
    normal_(m.weight, rng=c.rng(m.weight), threads=c.threads)
    c.mark(m.weight)
    if m.padding_idx is not None:
        _zero_row(m.weight, m.padding_idx)


def _zero_row(p, row):
    """p[row] = 0 (global row index), also on a DTensor shard."""
    gshape, blocks = shard_block(p)
    row %= gshape[0]
    dt = _dtensor_type()
    local = p._local_tensor if dt is not None and isinstance(p, dt) else p
    with torch.no_grad():
        for loc, glo in blocks:
            if glo[0].start <= row < glo[0].stop:
                local.detach()[(loc[0].start + row - glo[0].start,) + loc[1:]].zero_()


def _init_batchnorm(m, c):
    m.reset_running_stats()
    _init_affine(m, c)


def _init_affine(m, c):
    w, b = getattr(m, "weight", None), getattr(m, "bias", None)
    if isinstance(w, torch.nn.Parameter):
        ones_(w)
        c.mark(w)
    if isinstance(b, torch.nn.Parameter):
        zeros_(b)
        c.mark(b)


def _init_rnn(m, c):
    stdv = 1.0 / math.sqrt(m.hidden_size) if m.hidden_size > 0 else 0
    for p in m.parameters(recurse=False):
        uniform_(p, -stdv, stdv, rng=c.rng(p), threads=c.threads)
        c.mark(p)


def _init_mha(m, c):
    if m._qkv_same_embed_dim:
        ps = [m.in_proj_weight]
    else:
        ps = [m.q_proj_weight, m.k_proj_weight, m.v_proj_weight]
    for p in ps:
        xavier_uniform_(p, rng=c.rng(p), threads=c.threads)
        c.mark(p)
    if m.in_proj_bias is not None:
        zeros_(m.in_proj_bias)
        c.mark(m.in_proj_bias)
        zeros_(m.out_proj.bias)
        c.mark(m.out_proj.bias)
    for p in (m.bias_k, m.bias_v):
        if p is not None:
            xavier_normal_(p, rng=c.rng(p), threads=c.threads)
            c.mark(p)


def _init_transformer(m, c):
    for p in m.parameters():
        if p.dim() > 1:
            xavier_uniform_(p, rng=c.rng(p), threads=c.threads)
            c.mark(p)


def _init_prelu(m, c):
    constant_(m.weight, m.init)
    c.mark(m.weight)


def _storage_key(t):
    dt = _dtensor_type()
    if dt is not None and isinstance(t, dt):
        t = t._local_tensor
    try:
        return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape),
                tuple(t.stride()), t.dtype)
    except (RuntimeError, NotImplementedError):
        return None


def _parameter_names(module, prefix):
    """id(parameter) -> its first qualified name; refuses lazy and meta parameters."""
    names, params = {}, {}
    for name, p in module.named_parameters(prefix=prefix):
        params[id(p)] = p
        if isinstance(p, torch.nn.parameter.UninitializedParameter):
            raise ValueError(f"parameter {name!r} is uninitialized (a lazy module): run a "
                             f"forward pass first")
        names.setdefault(id(p), name)
    meta = [n for pid, n in names.items() if _is_meta(params[pid])]
    if meta:
        raise ValueError(f"init_module: {len(meta)} parameter(s) are on the meta device and have "
                         f"no memory ({meta[:4]}{' ...' if len(meta) > 4 else ''}); call "
                         f"module.to_empty(device=...) first")
    return names


def _plan(module, prefix):
    """What to run, children before their parents: ``(handler, module, name)`` for a known
    scheme, ``(None, module, name, method)`` for a module's own reset method."""
    table = _known_handlers()
    plan = []
    for mname, m in reversed(list(module.named_modules(prefix=prefix))):
        fn, meth = _handler_for(m, table)
        if fn is not None:
            plan.append((fn, m, mname))
        elif meth is not None:
            plan.append((None, m, mname, meth))
    return plan


class _CallStreams:
    """The streams of the ``torch.nn.init`` calls a module's own reset method makes: that of
    the parameter written (found by object, else by the storage region it views), else
    ``<module name>#call<k>`` for the k-th unnamed call of that module."""

    def __init__(self, module, prefix, ctx):
        self.ctx = ctx
        self.pid_of = {n: pid for pid, n in ctx.names.items()}
        self.calls = {}
        self.by_storage = {}
        for name, p in module.named_parameters(prefix=prefix):
            key = _storage_key(p)
            if key is not None:
                self.by_storage.setdefault(key, name)

    def resolver(self, mname):
        """tensor -> its stream, for the calls of module `mname`'s reset method."""
        ctx = self.ctx

        def resolve(t):
            name = ctx.names.get(id(t))
            if name is None:
                key = _storage_key(t)
                name = self.by_storage.get(key) if key is not None else None
            if name is None:
                k = self.calls.get(mname, 0)
                self.calls[mname] = k + 1
                name = f"{mname}#call{k}"
            elif name in self.pid_of:
                ctx.done.add(self.pid_of[name])
            return seed_for(ctx.seed, name)
        return resolve


def _run_plan(plan, ctx, streams, threads):
    """Run the handlers and reset methods of `plan` (`streams`: None when it has no reset
    methods)."""
    # The known schemes' fills are recorded and written in one batched engine call; a
    # module's own reset method runs with everything before it written.
    dfr = Deferral(threads)
    with contextlib.ExitStack() as stack:
        stack.callback(dfr.finish)               # also on an error: what was recorded is written
        if streams is not None:
            stack.enter_context(patch(threads=threads))
        stack.enter_context(deferring(dfr))
        stack.enter_context(guarding(dfr))
        for item in plan:
            if item[0] is not None:
                item[0](item[1], ctx)
                continue
            _, m, mname, meth = item
            dfr.finish()
            inner = patch(threads=threads)
            inner._resolver = streams.resolver(mname)
            with inner, deferring(None):
                getattr(m, meth)()
            for p in m.parameters(recurse=False):
                ctx.mark(p)


def init_module(module, seed=None, *, rng=None, generator=None, threads=None, prefix=""):
    r"""Re-initialise every parameter of `module` with each submodule's own default scheme.

    Each parameter gets its own stream, ``fastinit.seed_for(seed, name)`` with `name` its
    qualified name (``prefix`` + ``module.named_parameters()`` name), so its values depend
    only on the model seed, its name, shape and dtype -- not on which other parameters exist,
    their order, the process, or how the model is sharded. Works in place on CPU tensors,
    other devices (host fill + copy) and DTensor/FSDP2-sharded parameters (each rank writes
    its shard; ``full_tensor()`` equals the single-process result bit for bit). Typical
    FSDP2 use::

        with torch.device("meta"):
            model = Transformer(...)
        for layer in model.layers:
            fully_shard(layer)
        fully_shard(model)
        model.to_empty(device="cpu")
        fastinit.torch.init_module(model, seed=0)

    Schemes (torch 2.13's ``reset_parameters``):

    ===========================================  ==============================================
    ``Linear``, ``Conv*``, ``ConvTranspose*``    weight ``kaiming_uniform_(a=sqrt(5))``, bias
                                                 U(+-1/sqrt(fan_in))
    ``Bilinear``                                 U(+-1/sqrt(in1_features)) for both
    ``Embedding``, ``EmbeddingBag``              N(0, 1), the ``padding_idx`` row zeroed
    ``BatchNorm*``, ``InstanceNorm*``,           weight 1, bias 0 (and running statistics
    ``LayerNorm``, ``GroupNorm``, ``RMSNorm``    reset)
    ``RNN``, ``LSTM``, ``GRU`` and their cells   U(+-1/sqrt(hidden_size)) for all parameters
    ``MultiheadAttention``                       ``xavier_uniform_`` in-projections, zero
                                                 in/out-projection biases, ``xavier_normal_``
                                                 bias_k/bias_v
    ``Transformer``                              ``xavier_uniform_`` every parameter with
                                                 dim > 1
    ``PReLU``                                    the module's ``init`` value
    anything else with ``reset_parameters``      that method, run under `patch` with each
    (or a subclass overriding it)                ``torch.nn.init`` call on a parameter routed
                                                 to that parameter's per-name stream
    ===========================================  ==============================================

    Modules are visited children first, so a parent's scheme (``Transformer`` over its
    layers, ``MultiheadAttention`` over ``out_proj.bias``, a custom ``reset_parameters``)
    wins, as it does when torch constructs the model. Parameters no scheme covers are left
    unchanged with a warning naming them. Unlike torch's ``TransformerEncoder``, whose
    deep-copied layers start out identical, every layer gets its own values.

    Parameters
    ----------
    module : torch.nn.Module
    seed : int or numpy.random.SeedSequence, optional
        The model seed.
    rng : int, SeedSequence or numpy Generator, optional
        Alternative to `seed`: an int/SeedSequence is the model seed; a Generator gives one
        (one draw). Give at most one of `seed`, `rng`, `generator`.
    generator : torch.Generator, optional
        Draw the model seed from it. When none of the three is given the seed is drawn from
        torch's default generator (``torch.manual_seed`` makes it reproducible; on several
        ranks every rank must use the same torch seed, as DTensor requires).
    threads : int, optional
        Threads for each fill.
    prefix : str
        Prepended to the parameter names (initialise a submodule exactly as it is
        initialised inside the full model: ``init_module(model.encoder, 0, prefix="encoder.")``).

    Returns
    -------
    torch.nn.Module
        `module`.
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    seed = _model_seed(seed, rng, generator)
    prefix = prefix.rstrip(".") if prefix else ""
    names = _parameter_names(module, prefix)
    ctx = _Ctx(seed, names, threads)
    plan = _plan(module, prefix)
    custom = any(item[0] is None for item in plan)
    _run_plan(plan, ctx, _CallStreams(module, prefix, ctx) if custom else None, threads)
    left = [n for pid, n in names.items() if pid not in ctx.done]
    if left:
        warnings.warn(f"init_module: no initialization scheme is known for "
                      f"{len(left)} parameter(s), left unchanged: {left[:8]}"
                      f"{' ...' if len(left) > 8 else ''} (give their module a "
                      f"reset_parameters() method)", UserWarning, stacklevel=2)
    return module
