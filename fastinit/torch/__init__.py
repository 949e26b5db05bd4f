r"""PyTorch backend: ``torch.nn.init`` on fastinit's engine, ``patch()``, ``init_module``.

Every public function of ``torch.nn.init`` (torch 2.13) is here with the same name, signature,
defaults, return value, warnings and errors, plus keyword-only ``rng=`` and ``threads=``:

* CPU tensors of float32, float64, float16 and bfloat16 are filled in place through their
  memory (a NumPy view of the tensor's storage, any strides), with no copy and no autograd
  record (the functions behave as if run under ``torch.no_grad()``; the tensor's version
  counter is bumped as an in-place op would).
* Tensors on another device (CUDA, XPU, ...) are filled on the host in blocks of at most
  ``HOST_BLOCK_BYTES`` and copied in; the values equal a CPU fill.
* Meta tensors have no memory: a ``ValueError`` says so (inside `patch()` they are passed to
  torch, which treats them as a no-op, so ``with torch.device('meta')`` construction works).
* ``torch.distributed.tensor.DTensor`` (Shard / _StridedShard / Replicate placements, even
  or uneven): only the local shard is written, and it equals the same slice of a
  single-process fill (fastinit's ``global_shape``/``index`` addressing).
* Other dtypes (integers, complex, float8) and other tensor subclasses are handed to torch's
  own function unchanged.

Random streams. ``rng=`` takes anything fastinit's samplers take (SPEC 7: an int or
``SeedSequence`` seeds like ``numpy.random.default_rng``; a PCG64 ``Generator`` is consumed
exactly as a NumPy fill of the whole tensor would consume it, also for DTensor shards).
Without ``rng=``, one 63-bit seed is drawn with torch's RNG -- from ``generator=`` when it is
given, else from torch's default CPU generator -- so ``torch.manual_seed`` makes runs
reproducible. The values differ from torch's own (a different generator), the distribution
is the same.
"""

import contextlib
import functools
import math
import numbers
import sys
import threading
import types
import warnings

import numpy as np
import torch

from . import _torch_build as _tb
from . import initializers as _fi
from . import samplers as _fs
from .seeding import seed_for

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_", "sparse_",
    "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
    "patch", "init_module", "build", "shard_block", "HOST_BLOCK_BYTES",
]

_INIT = torch.nn.init
#: The public names of torch.nn.init that fastinit.torch mirrors (torch 2.13's __all__).
TORCH_NAMES = tuple(_INIT.__all__)
# torch's own functions, captured at import: what fastinit.torch delegates to. (torch's private
# _no_grad_* helpers are not replaced: torch's functions, called for what fastinit hands back
# to torch, look them up in torch.nn.init at call time.)


def _torch_original(name):
    """torch.nn.init.<name> as torch defines it.

    If fastinit.torch's own function sits there (put there by the user, or by a patch() of an
    earlier execution of this module, as importlib.reload or a re-import leaves it), delegating
    to it would recurse: the original that execution captured is taken instead.
    """
    fn = getattr(_INIT, name)
    seen = set()
    while getattr(fn, "__module__", None) == __name__:
        earlier = (getattr(fn, "__globals__", None) or {}).get("_ORIG") or {}
        if name not in earlier or id(fn) in seen:
            raise ImportError(f"torch.nn.init.{name} is a fastinit.torch function whose "
                              f"original is unknown; restore torch's function first")
        seen.add(id(fn))
        fn = earlier[name]
    return fn


_ORIG = {name: _torch_original(name) for name in TORCH_NAMES}

#: Tensors on a non-CPU device are filled on the host in blocks of at most this many bytes.
HOST_BLOCK_BYTES = 1 << 26

_NUMPY_DTYPES = {torch.float32: None, torch.float64: None, torch.float16: None,
                 torch.bfloat16: "bfloat16"}
_PLAIN = (torch.Tensor, torch.nn.Parameter)
_META_MSG = ("{fn}: the tensor is on the meta device and has no memory to fill. Materialise "
             "it first (module.to_empty(device=...)), then call fastinit.torch.init_module(...) "
             "or this function again")


def _dtensor_type():
    mod = sys.modules.get("torch.distributed.tensor")
    if mod is None:
        return None
    return getattr(mod, "DTensor", None)


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
_INSTALLED = []        # (namespace dict, key, previous value, our value)


def _active():
    return _CONFIGS[-1] if _CONFIGS else None


# --- resolving the tensor to write -----------------------------------------------------------

class _Dest:
    """What a call writes: `local` (a plain torch tensor) holds the pieces `blocks` (pairs of
    local and global index tuples) of a virtual tensor of `shape`; blocks None: `local` is the
    whole tensor."""

    __slots__ = ("tensor", "local", "shape", "global_shape", "blocks", "numel")


def _delegate_reason(tensor):
    """None when fastinit can fill `tensor`, else True (hand the call to torch)."""
    if not isinstance(tensor, torch.Tensor):
        return True
    dt = _dtensor_type()
    if dt is not None and isinstance(tensor, dt):
        return (tensor.dtype not in _NUMPY_DTYPES
                or tensor._local_tensor.layout is not torch.strided)
    if type(tensor) not in _PLAIN:
        return True
    if tensor.dtype not in _NUMPY_DTYPES or tensor.layout is not torch.strided:
        return True
    if tensor.is_neg() or tensor.is_conj():
        return True
    if tensor.dim() and 0 in tensor.stride() and tensor.numel() > 1:
        # an expanded tensor: torch raises "unsupported operation: more than one element of
        # the written-to tensor refers to a single memory location"
        if torch._debug_has_internal_overlap(tensor) == 1:
            return True
    return None


def _is_meta(tensor):
    dt = _dtensor_type()
    if dt is not None and isinstance(tensor, dt):
        return tensor._local_tensor.is_meta
    return isinstance(tensor, torch.Tensor) and tensor.is_meta


def _runs(idx):
    """Split a sorted global index array into (local_start, local_stop, global_start) runs."""
    if len(idx) == 0:
        return [(0, 0, 0)]
    cuts = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate(([0], cuts))
    stops = np.concatenate((cuts, [len(idx)]))
    return [(int(a), int(b), int(idx[a])) for a, b in zip(starts, stops)]


def shard_block(tensor):
    """Where the local shard of a DTensor sits in the global tensor.

    Returns ``(global_shape, blocks)`` where each block is ``(local_index, global_index)``,
    two tuples of slices: ``tensor.to_local()[local_index]`` is
    ``full_tensor()[global_index]``. Shard placements give one block; ``_StridedShard``
    placements (FSDP2 combined with tensor parallelism) may give several. For a plain tensor:
    ``(shape, [((slice..), (slice..))])`` covering everything.

    Raises
    ------
    NotImplementedError
        For ``Partial`` placements (the local tensors are summands, not pieces).
    """
    shape = tuple(tensor.shape)
    dt = _dtensor_type()
    if dt is None or not isinstance(tensor, dt):
        full = tuple(slice(0, n) for n in shape)
        return shape, [(full, full)]
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.placement_types import _StridedShard, _StridedShardOffsetMode
    mesh = tensor.device_mesh
    coord = mesh.get_coordinate()
    if coord is None:
        raise ValueError("this rank is not part of the DTensor's device mesh")
    idx = [np.arange(n, dtype=np.int64) for n in shape]
    for mdim, p in enumerate(tensor.placements):
        if isinstance(p, Replicate):
            continue
        if isinstance(p, _StridedShard):
            d = p.dim
            size, offs = p.local_shard_size_and_offset(len(idx[d]), mesh.size(mdim), coord[mdim],
                                                       _StridedShardOffsetMode.ALL)
            idx[d] = idx[d][np.asarray(offs if size else [], dtype=np.int64)]
        elif isinstance(p, Shard):
            d = p.dim
            size, start = Shard.local_shard_size_and_offset(len(idx[d]), mesh.size(mdim),
                                                            coord[mdim])
            idx[d] = idx[d][int(start):int(start) + int(size)]
        else:
            raise NotImplementedError(
                f"fastinit.torch fills DTensors with Shard or Replicate placements; got {p} "
                f"(a Partial DTensor's local tensors are summands, initialise the full value "
                f"and redistribute instead)")
    local_shape = tuple(len(i) for i in idx)
    if local_shape != tuple(tensor._local_tensor.shape):
        raise ValueError(f"DTensor local shape {tuple(tensor._local_tensor.shape)} does not "
                         f"match the shard {local_shape} its placements describe")
    per_dim = [_runs(i) for i in idx]
    blocks = []
    for combo in _product(per_dim):
        loc = tuple(slice(a, b) for a, b, _ in combo)
        glo = tuple(slice(g, g + (b - a)) for a, b, g in combo)
        blocks.append((loc, glo))
    return shape, blocks


def _product(lists):
    out = [()]
    for lst in lists:
        out = [o + (x,) for o in out for x in lst]
    return out


def _dest(tensor, fn_name):
    """A _Dest for `tensor`, or None to hand the call to torch's own function."""
    if _delegate_reason(tensor):
        return None
    if _is_meta(tensor):
        if _active() is not None:
            return None                 # inside patch(): torch's no-op on meta tensors
        raise ValueError(_META_MSG.format(fn=fn_name))
    d = _Dest()
    d.tensor = tensor
    dt = _dtensor_type()
    if dt is not None and isinstance(tensor, dt):
        d.local = tensor._local_tensor.detach()
        d.global_shape, d.blocks = shard_block(tensor)
        d.shape = d.global_shape
    else:
        d.local = tensor.detach()
        d.shape = tuple(tensor.shape)
        d.global_shape = None
        d.blocks = None
    d.numel = math.prod(d.shape)
    return d


# --- rng ------------------------------------------------------------------------------------

def _draw_seed(generator):
    """A 63-bit seed drawn with torch's RNG (generator, or torch's default CPU generator)."""
    dev = "cpu" if generator is None else generator.device
    return int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64, generator=generator,
                             device=dev))


def _rng_for(rng, generator, tensor):
    if rng is not None:
        if generator is not None:
            raise ValueError("pass generator= (a torch.Generator) or rng= (fastinit's seeding), "
                             "not both")
        return rng
    if generator is None:
        cfg = _active()
        if cfg is not None:
            if cfg.resolver is not None:
                r = cfg.resolver(tensor)
                if r is not None:
                    return r
            if cfg.gen is not None:
                return cfg.gen
    return _draw_seed(generator)


def _threads(threads):
    if threads is None:
        cfg = _active()
        if cfg is not None:
            return cfg.threads
    return threads


def _advance(rng, words, word32):
    """Advance a numpy PCG64 Generator (or bit generator) past `words` words of the stream, as
    numpy's next_uint32 (word32) or next_uint64 would."""
    bg = rng.bit_generator if isinstance(rng, np.random.Generator) else rng
    if not words:
        return
    with bg.lock:
        st = bg.state
        if word32:
            k = words
            if st["has_uint32"]:
                k -= 1
            full, odd = divmod(k, 2)
            bg.advance(full)                  # resets the buffered half
            if odd:
                w = int(bg.random_raw())
                st = bg.state
                st["has_uint32"], st["uinteger"] = 1, w >> 32
                bg.state = st
        else:
            has, half = st["has_uint32"], st["uinteger"]
            bg.advance(words)
            st = bg.state
            st["has_uint32"], st["uinteger"] = has, half
            bg.state = st


def _is_generator(rng):
    return isinstance(rng, np.random.Generator) or type(rng) is np.random.PCG64


# --- writing --------------------------------------------------------------------------------

def _numpy_view(t):
    """(ndarray sharing t's memory, dtype= for fastinit)."""
    # No madvise(MADV_HUGEPAGE) on torch's memory: where the kernel must compact memory to
    # find huge pages (THP defrag=madvise, after other work), that stalls the first touch
    # more than huge pages save (model construction 3.7-4.2 s with it, 2.3-2.7 s without).
    code = _NUMPY_DTYPES[t.dtype]
    if code == "bfloat16":
        return t.view(torch.int16).numpy().view(np.uint16), "bfloat16"
    return t.numpy(), None


def _direct(local):
    """True when `local` can be written through a NumPy view of its memory."""
    return local.device.type == "cpu"


def _bump_version(t):
    try:
        if not t.is_inference():
            torch.autograd.graph.increment_version(t)
    except (RuntimeError, TypeError, AttributeError):    # pragma: no cover
        pass


def _write(d, fill, rng, threads, words=0, word32=True, blockable=True):
    """Fill the destination with ``fill(out=, dtype=, global_shape=, index=, rng=, threads=)``.

    `words` is what a whole fill consumes of a Generator (so blocks can advance it after).
    `blockable`: whether many small blocks are cheap (False: orthogonal, sparse).
    """
    local = d.local
    threads = _threads(threads)
    dfr = _tb.active()                   # inside build(): recorded now, written in one batch
    if dfr is not None and dfr.write(d, fill, rng, threads):
        _bump_version(d.tensor)
        return
    gen = _is_generator(rng)
    blocks = d.blocks
    host = not _direct(local)
    if blocks is None and not host:
        if local.numel():
            arr, dt = _numpy_view(local)
            fill(out=arr, dtype=dt, rng=rng, threads=threads)
        _bump_version(d.tensor)
        return
    if blocks is None:
        full = tuple(slice(0, n) for n in local.shape)
        blocks = [(full, full)]
    gshape = d.shape
    for loc, glo in blocks:
        part = local[loc] if loc else local
        if not part.numel():
            continue
        if not host:
            arr, dt = _numpy_view(part)
            fill(out=arr, dtype=dt, global_shape=gshape, index=glo, rng=rng, threads=threads)
            continue
        for lsub, gsub in _host_pieces(part, glo, blockable):
            buf = torch.empty(tuple(s.stop - s.start for s in gsub), dtype=part.dtype)
            arr, dt = _numpy_view(buf)
            fill(out=arr, dtype=dt, global_shape=gshape, index=gsub, rng=rng, threads=threads)
            part[lsub].copy_(buf)
    if gen:
        _advance(rng, words, word32)
    _bump_version(d.tensor)


def _host_pieces(part, glo, blockable):
    """Split a block along its first axis into host buffers of <= HOST_BLOCK_BYTES."""
    n0 = part.shape[0] if part.dim() else 1
    if not part.dim() or not blockable:
        yield tuple(slice(0, n) for n in part.shape), glo
        return
    row = max(1, part[0].numel() * part.element_size())
    step = max(1, HOST_BLOCK_BYTES // row)
    for i in range(0, n0, step):
        j = min(n0, i + step)
        lsub = (slice(i, j),) + tuple(slice(0, n) for n in part.shape[1:])
        g0 = glo[0]
        gsub = (slice(g0.start + i, g0.start + j),) + tuple(glo[1:])
        yield lsub, gsub


def _word32(tensor):
    return tensor.dtype != torch.float64


# --- validation helpers that give torch's own messages -------------------------------------

_EMPTY = {}


def _empty(dtype, device):
    key = (dtype, str(device))
    t = _EMPTY.get(key)
    if t is None:
        t = _EMPTY[key] = torch.empty(0, dtype=dtype, device=device)
    return t


def _device_of(tensor):
    dt = _dtensor_type()
    if dt is not None and isinstance(tensor, dt):
        return tensor._local_tensor.device
    return tensor.device


def _check_uniform(tensor, a, b, generator):
    """Raise exactly what ``tensor.uniform_(a, b, generator=generator)`` raises."""
    with torch.no_grad():
        _empty(tensor.dtype, _device_of(tensor)).uniform_(a, b, generator=generator)


def _check_normal(tensor, mean, std, generator):
    with torch.no_grad():
        _empty(tensor.dtype, _device_of(tensor)).normal_(mean, std, generator=generator)


def _finite(*xs):
    return all(math.isfinite(float(x)) for x in xs)


def _calculate_fan_in_and_fan_out(shape):
    """torch.nn.init._calculate_fan_in_and_fan_out of a (global) shape."""
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(shape, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def _torch_function(fn, tensor, **kw):
    """torch's __torch_function__ preamble (subclasses, TorchFunctionModes)."""
    if torch.overrides.has_torch_function_variadic(tensor):
        return True, torch.overrides.handle_torch_function(fn, (tensor,), tensor=tensor, **kw)
    return False, None


# --- the sampling functions -----------------------------------------------------------------

def _uniform_fill(d, a, b, rng, threads, tensor):
    if a == b:
        _write_constant(d, a)
        return
    _write(d, functools.partial(_fs.uniform, None, float(a), float(b)), rng, threads,
           words=d.numel, word32=_word32(tensor))


def _normal_fill(d, mean, std, rng, threads, tensor):
    _write(d, functools.partial(_fs.normal, None, float(mean), float(std)), rng, threads,
           words=d.numel, word32=_word32(tensor))


def _write_constant(d, value):
    with torch.no_grad():
        d.local.fill_(value)
    _bump_version(d.tensor)


def uniform_(tensor, a=0.0, b=1.0, generator=None, *, rng=None, threads=None):
    r"""Fill the tensor with values drawn from the uniform distribution U(a, b).

    As ``torch.nn.init.uniform_``; values are fastinit's ``uniform`` (``a <= x < b`` in the
    tensor's dtype). ``a == b`` fills `a`.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        a: the lower bound of the uniform distribution
        b: the upper bound of the uniform distribution
        generator: a torch Generator to draw the stream's seed from (default: torch's
            default generator)
        rng: fastinit seeding instead of `generator` (int, SeedSequence, numpy Generator)
        threads: threads for the fill (never changes the values)
    """
    handled, res = _torch_function(uniform_, tensor, a=a, b=b, generator=generator, rng=rng,
                                   threads=threads)
    if handled:
        return res
    d = _dest(tensor, "uniform_")
    if d is None:
        return _ORIG["uniform_"](tensor, a, b, generator)
    _check_uniform(tensor, a, b, generator)
    r = _rng_for(rng, generator, tensor)
    try:
        _uniform_fill(d, a, b, r, threads, tensor)
    except ValueError:
        if not _finite(a, b) or d.global_shape is not None:
            raise
        return _ORIG["uniform_"](tensor, a, b, generator)    # an interval no value fits in
    return tensor


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, rng=None, threads=None):
    r"""Fill the tensor with values drawn from the normal distribution N(mean, std^2).

    As ``torch.nn.init.normal_``; values are fastinit's ``normal`` (inversion of one 32-bit
    word per element, 64-bit for float64). Non-finite `mean`/`std` are handed to torch.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        mean: the mean of the normal distribution
        std: the standard deviation of the normal distribution
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    handled, res = _torch_function(normal_, tensor, mean=mean, std=std, generator=generator,
                                   rng=rng, threads=threads)
    if handled:
        return res
    d = _dest(tensor, "normal_")
    if d is None:
        return _ORIG["normal_"](tensor, mean, std, generator)
    _check_normal(tensor, mean, std, generator)
    if not _finite(mean, std):
        if rng is not None and generator is not None:
            raise ValueError("pass generator= or rng=, not both")
        return _ORIG["normal_"](tensor, mean, std, generator)
    _normal_fill(d, mean, std, _rng_for(rng, generator, tensor), threads, tensor)
    return tensor


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, rng=None,
                  threads=None):
    r"""Fill the tensor with N(mean, std^2) truncated to the absolute bounds [a, b].

    As ``torch.nn.init.trunc_normal_`` (a, b are absolute values, no variance correction),
    sampled by exact inversion (fastinit's ``truncated_normal``, one word per element) instead
    of torch's rejection sampling: same distribution, a fixed amount of the stream, accurate
    far in the tails. Warns as torch does when `mean` is more than 2 std outside [a, b].

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        mean: the mean of the normal distribution
        std: the standard deviation of the normal distribution
        a: the minimum cutoff value
        b: the maximum cutoff value
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    d = _dest(tensor, "trunc_normal_")
    if d is None:
        return _ORIG["trunc_normal_"](tensor, mean, std, a, b, generator)
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    p = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if p > 0.3:
        _check_normal(tensor, mean, std, generator)
    else:
        _check_uniform(tensor, a, b, generator)
    if a == b:
        _write_constant(d, a)
        return tensor
    if not _finite(mean, std) or std <= 0:
        return _ORIG["trunc_normal_"](tensor, mean, std, a, b, generator)
    r = _rng_for(rng, generator, tensor)
    lower, upper = (a - mean) / std, (b - mean) / std
    try:
        _write(d, functools.partial(_fs.truncated_normal, None, float(mean), float(std),
                                    float(lower), float(upper)),
               r, threads, words=d.numel, word32=_word32(tensor))
    except ValueError:
        if d.global_shape is not None:
            raise
        return _ORIG["trunc_normal_"](tensor, mean, std, a, b, generator)
    return tensor


# --- constants -------------------------------------------------------------------------------

def _const_dest(tensor, fn_name):
    if isinstance(tensor, torch.Tensor) and _is_meta(tensor) and _active() is None:
        raise ValueError(_META_MSG.format(fn=fn_name))


def constant_(tensor, val):
    r"""Fill the tensor with the value `val` (``torch.nn.init.constant_``: torch's ``fill_``).

    Args:
        tensor: an n-dimensional `torch.Tensor`
        val: the value to fill the tensor with
    """
    handled, res = _torch_function(constant_, tensor, val=val)
    if handled:
        return res
    _const_dest(tensor, "constant_")
    with torch.no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    r"""Fill the tensor with the scalar value 1 (``torch.nn.init.ones_``).

    Args:
        tensor: an n-dimensional `torch.Tensor`
    """
    _const_dest(tensor, "ones_")
    with torch.no_grad():
        return tensor.fill_(1.0)


def zeros_(tensor):
    r"""Fill the tensor with the scalar value 0 (``torch.nn.init.zeros_``).

    Args:
        tensor: an n-dimensional `torch.Tensor`
    """
    _const_dest(tensor, "zeros_")
    with torch.no_grad():
        return tensor.zero_()


def eye_(tensor):
    r"""Fill the 2-D tensor with the identity matrix (``torch.nn.init.eye_``).

    Args:
        tensor: a 2-dimensional `torch.Tensor` (or DTensor)
    """
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    d = _dest(tensor, "eye_")
    if d is None:
        return _ORIG["eye_"](tensor)
    _write(d, functools.partial(_fi.eye, None, 1.0), None, None, blockable=True)
    return tensor


def dirac_(tensor, groups=1):
    r"""Fill the {3, 4, 5}-D tensor with the Dirac delta (``torch.nn.init.dirac_``).

    Args:
        tensor: a {3, 4, 5}-dimensional `torch.Tensor` (or DTensor)
        groups (int, optional): number of groups in the conv layer (default: 1)
    """
    dimensions = tensor.ndimension()
    if dimensions not in [3, 4, 5]:
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.size()
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        return _ORIG["dirac_"](tensor, groups)
    d = _dest(tensor, "dirac_")
    if d is None:
        return _ORIG["dirac_"](tensor, groups)
    _write(d, functools.partial(_fi.dirac, None, int(groups)), None, None)
    return tensor


# --- the variance-scaling schemes ------------------------------------------------------------

def _shape_of(tensor):
    return tuple(tensor.shape)


def xavier_uniform_(tensor, gain=1.0, generator=None, *, rng=None, threads=None):
    r"""Xavier/Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).

    As ``torch.nn.init.xavier_uniform_`` (Glorot & Bengio 2010); the fans of a DTensor are
    those of its global shape.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        gain: an optional scaling factor
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape_of(tensor))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _scheme_uniform(tensor, -a, a, generator, rng, threads, "xavier_uniform_",
                           lambda: _ORIG["xavier_uniform_"](tensor, gain, generator))


def xavier_normal_(tensor, gain=1.0, generator=None, *, rng=None, threads=None):
    r"""Xavier/Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    As ``torch.nn.init.xavier_normal_`` (untruncated).

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        gain: an optional scaling factor
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_shape_of(tensor))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _scheme_normal(tensor, std, generator, rng, threads, "xavier_normal_",
                          lambda: _ORIG["xavier_normal_"](tensor, gain, generator))


def _scheme_uniform(tensor, lo, hi, generator, rng, threads, name, orig):
    d = _dest(tensor, name)
    if d is None:
        return orig()
    _check_uniform(tensor, lo, hi, generator)
    r = _rng_for(rng, generator, tensor)
    _uniform_fill(d, lo, hi, r, threads, tensor)
    return tensor


def _scheme_normal(tensor, std, generator, rng, threads, name, orig):
    d = _dest(tensor, name)
    if d is None:
        return orig()
    _check_normal(tensor, 0.0, std, generator)
    if not _finite(std):
        return orig()
    _normal_fill(d, 0.0, std, _rng_for(rng, generator, tensor), threads, tensor)
    return tensor


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                     rng=None, threads=None):
    r"""He/Kaiming uniform: U(-bound, bound), bound = gain * sqrt(3 / fan_mode).

    As ``torch.nn.init.kaiming_uniform_`` (He et al. 2015), ``gain = calculate_gain(
    nonlinearity, a)``. A zero-element tensor warns "Initializing zero-element tensors is a
    no-op" and is returned unchanged.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        a: the negative slope of the rectifier used after this layer (only used with
            ``'leaky_relu'``)
        mode: either ``'fan_in'`` (default) or ``'fan_out'``
        nonlinearity: the non-linear function (`nn.functional` name)
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    handled, res = _torch_function(kaiming_uniform_, tensor, a=a, mode=mode,
                                   nonlinearity=nonlinearity, generator=generator, rng=rng,
                                   threads=threads)
    if handled:
        return res
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(_shape_of(tensor), mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _scheme_uniform(tensor, -bound, bound, generator, rng, threads, "kaiming_uniform_",
                           lambda: _ORIG["kaiming_uniform_"](tensor, a, mode, nonlinearity,
                                                             generator))


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                    rng=None, threads=None):
    r"""He/Kaiming normal: N(0, std^2), std = gain / sqrt(fan_mode), untruncated.

    As ``torch.nn.init.kaiming_normal_``.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        a: the negative slope of the rectifier used after this layer (only used with
            ``'leaky_relu'``)
        mode: either ``'fan_in'`` (default) or ``'fan_out'``
        nonlinearity: the non-linear function (`nn.functional` name)
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(_shape_of(tensor), mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    return _scheme_normal(tensor, std, generator, rng, threads, "kaiming_normal_",
                          lambda: _ORIG["kaiming_normal_"](tensor, a, mode, nonlinearity,
                                                           generator))


def orthogonal_(tensor, gain=1, generator=None, *, rng=None, threads=None):
    r"""Fill the tensor with a (semi-)orthogonal matrix times `gain` (Saxe et al. 2014).

    As ``torch.nn.init.orthogonal_``: rows = size(0), the trailing dimensions flattened; QR of
    an N(0, 1) matrix (transposed when rows < cols) with Q's columns multiplied by
    sign(diag(R)). Computed in float64 for float64 tensors, float32 otherwise -- so float16
    and bfloat16 work on CPU (torch's QR does not support them). A DTensor shard computes
    the whole matrix and keeps its block.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor), n >= 2
        gain: optional scaling factor
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    d = _dest(tensor, "orthogonal_") if tensor.numel() else None
    if d is None:
        if tensor.numel() == 0 and not _delegate_reason(tensor):
            return tensor
        return _ORIG["orthogonal_"](tensor, gain, generator)
    with torch.no_grad():
        _empty(tensor.dtype, _device_of(tensor)).mul_(gain)     # torch's error for a bad gain
    r = _rng_for(rng, generator, tensor)
    g = gain
    scale = isinstance(g, bool) or not isinstance(g, numbers.Real) or not (
        math.isfinite(float(g)) and g > 0)
    _write(d, functools.partial(_fi.orthogonal, None, 1.0 if scale else float(g)), r, threads,
           words=d.numel, word32=_word32(tensor), blockable=False)
    if scale:
        with torch.no_grad():
            d.local.mul_(gain)
    return tensor


def sparse_(tensor, sparsity, std=0.01, generator=None, *, rng=None, threads=None):
    r"""Fill the 2-D tensor as a sparse matrix (Martens 2010).

    As ``torch.nn.init.sparse_``: N(0, std^2) values with ``ceil(sparsity * rows)`` zeros
    in each column. The zero positions come from the same fastinit stream as the values
    (torch draws them with ``torch.randperm`` from the global generator), so the result is
    reproducible from `rng`/`generator` alone.

    Args:
        tensor: an n-dimensional `torch.Tensor` (or DTensor)
        sparsity: The fraction of elements in each column to be set to zero
        std: the standard deviation of the normal distribution used to generate the non-zero
            values
        generator: a torch Generator to draw the stream's seed from
        rng: fastinit seeding instead of `generator`
        threads: threads for the fill
    """
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    d = _dest(tensor, "sparse_")
    if d is None:
        return _ORIG["sparse_"](tensor, sparsity, std, generator)
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    _check_normal(tensor, 0, std, generator)
    if not _finite(std):
        return _ORIG["sparse_"](tensor, sparsity, std, generator)
    k = len(range(rows)[:num_zeros])          # torch zeroes row_indices[:num_zeros]
    s = 0.0
    if rows:
        s = k / rows
        while s > 0 and math.ceil(s * rows) > k:
            s = math.nextafter(s, 0.0)
        s = min(1.0, s)
    r = _rng_for(rng, generator, tensor)
    _write(d, functools.partial(_fi.sparse, None, s, float(std)), r, threads,
           words=2 * d.numel, word32=_word32(tensor), blockable=False)
    return tensor


def calculate_gain(nonlinearity, param=None):
    r"""Return the recommended gain value for the given nonlinearity function.

    ``torch.nn.init.calculate_gain`` itself (same values and types: 1 for the linear
    functions, 5/3 tanh, sqrt(2) relu, sqrt(2 / (1 + slope^2)) leaky_relu, 3/4 selu).

    Args:
        nonlinearity: the non-linear function (`nn.functional` name)
        param: optional parameter for the non-linear function
    """
    return _ORIG["calculate_gain"](nonlinearity, param)


# --- deprecated aliases (torch keeps them for backward compatibility) -----------------------

def _make_deprecate(meth):
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = rf"""
    {old_name}(...)

    .. warning::
        This method is now deprecated in favor of :func:`fastinit.torch.{new_name}`.

    See :func:`~fastinit.torch.{new_name}` for details."""
    deprecated_init.__name__ = old_name
    deprecated_init.__qualname__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)


_OURS = {name: globals()[name] for name in _ORIG}


# --- patch() -----------------------------------------------------------------------------------

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
    import torch.nn.modules.activation          # noqa: F401  (make sure they are loaded)
    import torch.nn.modules.transformer         # noqa: F401
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
            from . import _rng
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


# --- init_module -------------------------------------------------------------------------------

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
    names, params = {}, {}
    for name, p in module.named_parameters(prefix=prefix.rstrip(".") if prefix else ""):
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
    ctx = _Ctx(seed, names, threads)
    table = _known_handlers()
    order = list(module.named_modules(prefix=prefix.rstrip(".") if prefix else ""))
    custom = []
    plan = []
    for mname, m in reversed(order):             # children before their parents
        fn, meth = _handler_for(m, table)
        if fn is not None:
            plan.append((fn, m, mname))
        elif meth is not None:
            plan.append((None, m, mname, meth))
            custom.append(m)
    by_storage = {}
    if custom:
        for name, p in module.named_parameters(prefix=prefix.rstrip(".") if prefix else ""):
            key = _storage_key(p)
            if key is not None:
                by_storage.setdefault(key, name)
    calls = {}
    pid_of = {n: pid for pid, n in names.items()}

    def resolver_for(mname):
        def resolve(t):
            name = names.get(id(t))
            if name is None:
                key = _storage_key(t)
                name = by_storage.get(key) if key is not None else None
            if name is None:
                k = calls.get(mname, 0)
                calls[mname] = k + 1
                name = f"{mname}#call{k}"
            elif name in pid_of:
                ctx.done.add(pid_of[name])
            return seed_for(seed, name)
        return resolve

    # The known schemes' fills are recorded and written in one batched engine call; a
    # module's own reset method runs with everything before it written.
    dfr = _tb.Deferral(threads)
    with contextlib.ExitStack() as stack:
        stack.callback(dfr.finish)               # also on an error: what was recorded is written
        if custom:
            stack.enter_context(patch(threads=threads))
        stack.enter_context(_tb.deferring(dfr))
        stack.enter_context(_tb.guarding(dfr))
        for item in plan:
            if item[0] is not None:
                item[0](item[1], ctx)
                continue
            _, m, mname, meth = item
            dfr.finish()
            inner = patch(threads=threads)
            inner._resolver = resolver_for(mname)
            with inner, _tb.deferring(None):
                getattr(m, meth)()
            for p in m.parameters(recurse=False):
                ctx.mark(p)
    left = [n for pid, n in names.items() if pid not in ctx.done]
    if left:
        warnings.warn(f"init_module: no initialization scheme is known for "
                      f"{len(left)} parameter(s), left unchanged: {left[:8]}"
                      f"{' ...' if len(left) > 8 else ''} (give their module a "
                      f"reset_parameters() method)", UserWarning, stacklevel=2)
    return module


from ._torch_build import build  # noqa: E402  (the construction path, on the hooks above)
