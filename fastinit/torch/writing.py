"""The write path: how a torch tensor becomes memory that fastinit's engine fills.

`_dest` decides whether fastinit can fill a tensor (else the call goes to torch) and describes
it: a plain CPU tensor is written through a NumPy view of its storage (any strides, no copy);
a tensor on another device is filled on the host in pieces of at most
``fastinit.torch.HOST_BLOCK_BYTES`` and copied in; a DTensor's local shard is written as its
pieces of the global tensor. Inside `build` the fill is recorded instead (construction.py).
Every write bumps the tensor's version counter as an in-place op would.
"""

import math
import sys

import numpy as np
import torch

from .distributed import _dtensor_type, shard_block
from .state import _active, active_deferral
from .streams import _advance, _is_generator, _threads

_NUMPY_DTYPES = {torch.float32: None, torch.float64: None, torch.float16: None,
                 torch.bfloat16: "bfloat16"}
_PLAIN = (torch.Tensor, torch.nn.Parameter)
_META_MSG = ("{fn}: the tensor is on the meta device and has no memory to fill. Materialise "
             "it first (module.to_empty(device=...)), then call fastinit.torch.init_module(...) "
             "or this function again")


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
    dfr = active_deferral()              # inside build(): recorded now, written in one batch
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


def _host_block_bytes():
    # public and settable: read where users set it, at call time
    return sys.modules[__package__].HOST_BLOCK_BYTES


def _host_pieces(part, glo, blockable):
    """Split a block along its first axis into host buffers of <= HOST_BLOCK_BYTES."""
    n0 = part.shape[0] if part.dim() else 1
    if not part.dim() or not blockable:
        yield tuple(slice(0, n) for n in part.shape), glo
        return
    row = max(1, part[0].numel() * part.element_size())
    step = max(1, _host_block_bytes() // row)
    for i in range(0, n0, step):
        j = min(n0, i + step)
        lsub = (slice(i, j),) + tuple(slice(0, n) for n in part.shape[1:])
        g0 = glo[0]
        gsub = (slice(g0.start + i, g0.start + j),) + tuple(glo[1:])
        yield lsub, gsub


def _word32(tensor):
    return tensor.dtype != torch.float64


def _device_of(tensor):
    dt = _dtensor_type()
    if dt is not None and isinstance(tensor, dt):
        return tensor._local_tensor.device
    return tensor.device


def _write_constant(d, value):
    with torch.no_grad():
        d.local.fill_(value)
    _bump_version(d.tensor)
