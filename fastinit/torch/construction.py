r"""Building a torch model at memory speed: deferred fills, one allocation, one engine call.

While a model is constructed under `build`, every fill that fastinit.torch would make
(``torch.nn.init`` routed by `patch`) is validated and its stream position taken at the moment
of the call, exactly as under `patch` -- but not yet written. Whatever else touches a tensor
with a fill pending (any torch operation on its memory: arithmetic, ``fill_``, ``copy_``,
indexing writes, reads) first has the fill written, so it sees what it would see under
`patch`. A later full fill of the same tensor replaces a pending one (the stream it consumed
stays consumed). When the factory returns, the parameters and buffers whose fill is still
pending are moved into one fresh allocation (a view each, with its own storage) and every
pending fill runs in one `fastinit.fill_many` engine call, the fill threads mapping the fresh
pages as they go. The values are those of ``with fastinit.torch.patch(rng=...)``, bit for bit.
"""

import functools
import mmap
import weakref

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from .. import _engine, _fill, samplers as _fs
from .patching import patch
from .state import deferring
from .writing import _numpy_view

_SAMPLERS = (_fs.uniform, _fs.normal, _fs.truncated_normal)
_NUMPY = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
          torch.bfloat16: np.uint16}
_PAGE = mmap.PAGESIZE
# Tensors from this size on start on a page of their own, so that freeing one returns its
# pages; smaller ones are packed at cache-line alignment.
_OWN_PAGES = 1 << 16
_BENIGN = (torch.ops.aten.detach.default, torch.ops.aten.alias.default)


def _key(t):
    try:
        return t.untyped_storage().data_ptr()
    except Exception:           # tensor subclasses without a storage of their own
        return 0


def _region(t):
    return (t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)


class _Pending:
    __slots__ = ("plan", "local", "region")

    def __init__(self, plan, local, region):
        self.plan, self.local, self.region = plan, local, region


class Deferral:
    """Fills recorded with their stream state, written later in one batched engine call."""

    def __init__(self, threads=None):
        self.threads = threads
        self.pending = {}          # storage data_ptr -> _Pending (one region per storage)
        self.pinned = set()        # storages that views were taken of: filled where they are
        self.internal = 0          # > 0 while this object itself runs torch operations

    # called by writing._write
    def write(self, d, fill, rng, threads):
        """Record ``fill(out=<d.local>, rng=rng)``; False when it must run now instead."""
        local = d.local
        if (d.blocks is not None or local.device.type != "cpu"
                or not (isinstance(fill, functools.partial) and fill.func in _SAMPLERS)):
            self.flush_tensor(local)
            return False
        key = _key(local)
        if not key:
            return False
        region = _region(local)
        old = self.pending.get(key)
        if old is not None and old.region != region:
            self.flush_key(key)
        self.internal += 1
        try:
            arr, dt = _numpy_view(local)
            collector = _fill.Collector(commit=True)
            with _fill.collecting(collector):
                fill(out=arr, dtype=dt, rng=rng, threads=threads)
        finally:
            self.internal -= 1
        if collector.plans:
            plan = collector.plans[0]
            plan.arr = None            # only `local` holds the memory (see _unused)
            self.pending[key] = _Pending(plan, local, region)
        else:
            self.pending.pop(key, None)
        return True

    def flush_tensor(self, t):
        if self.pending:
            key = _key(t)
            if key in self.pending:
                self.flush_key(key)

    def flush_key(self, key):
        p = self.pending.pop(key)
        self.internal += 1
        try:
            _fill.run([_bind(p)], self._nthreads())
        finally:
            self.internal -= 1

    def _nthreads(self):
        return _engine.resolve_threads(self.threads)

    def finish(self, model=None):
        """Write every pending fill (moving `model`'s pending tensors into one allocation)."""
        self.internal += 1
        try:
            if model is not None:
                self._rehome(model)
            plans = [_bind(p) for p in self.pending.values() if not _unused(p)]
            self.pending.clear()
            _fill.run(plans, self._nthreads())
        finally:
            self.internal -= 1

    def discard(self):
        self.pending.clear()

    def _rehome(self, model):
        """Give each pending parameter/buffer that is alone in its storage a view of one
        fresh anonymous mapping (its own torch storage, so torch and Hugging Face still see
        separate tensors), keeping Parameter objects -- and so tied weights -- as they are."""
        groups = {}
        for m in model.modules():
            for t in list(m._parameters.values()) + list(m._buffers.values()):
                if t is not None and not t.is_meta and t.device.type == "cpu":
                    key = _key(t)
                    if key in self.pending and key not in self.pinned:
                        groups.setdefault(key, {})[id(t)] = t
        moves, total = [], 0
        for key, tensors in groups.items():
            p = self.pending[key]
            off, shape, stride, dtype = p.region
            ts = list(tensors.values())
            nbytes = p.local.numel() * p.local.element_size()
            whole = (off == 0 and p.local.is_contiguous()
                     and p.local.untyped_storage().nbytes() == nbytes)
            if not whole or dtype not in _NUMPY or any(_region(t) != p.region for t in ts):
                continue
            align = _PAGE if nbytes >= _OWN_PAGES else 64
            total = -(-total // align) * align
            moves.append((key, ts, total, nbytes))
            total += nbytes
        if not moves:
            return
        mm = mmap.mmap(-1, total, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        with torch.no_grad():
            for key, ts, off, nbytes in moves:
                p = self.pending[key]
                dtype = p.region[3]
                npdt = np.dtype(_NUMPY[dtype])
                view = np.frombuffer(mm, npdt, nbytes // npdt.itemsize, off).reshape(p.region[1])
                new = torch.from_numpy(view)
                if dtype == torch.bfloat16:
                    new = new.view(torch.bfloat16)
                weakref.finalize(view, _release, mm, off, nbytes)
                for t in ts:
                    t.data = new
                p.plan.arr = view
                p.local = new
                self.pending[key] = p


def _bind(p):
    """The plan, writing into the pending tensor's memory."""
    if p.plan.arr is None:
        p.plan.arr = _numpy_view(p.local)[0]
    return p.plan


def _unused(p):
    """True when nothing but this record holds the tensor's memory any more (a tensor built
    and dropped during construction, such as an output embedding replaced by a tied one):
    no one can see its values, so they are not written."""
    if p.plan.arr is not None:
        return False
    try:
        storage = p.local.untyped_storage()
        # the record's tensor and `storage` itself
        return torch._C._storage_Use_Count(storage._cdata) <= 2
    except Exception:           # pragma: no cover (no such introspection: write it)
        return False


def _release(mm, off, nbytes):
    """A moved tensor's memory is gone: return its own pages to the system."""
    start = -(-off // _PAGE) * _PAGE
    end = (off + nbytes) // _PAGE * _PAGE
    if end > start and not mm.closed:
        try:
            mm.madvise(mmap.MADV_DONTNEED, start, end - start)
        except (OSError, ValueError, AttributeError):      # pragma: no cover
            pass


class _Guard(TorchDispatchMode):
    """Writes a tensor's pending fill before any torch operation uses its memory."""

    def __init__(self, deferral):
        super().__init__()
        self.deferral = deferral

    @classmethod
    def _should_skip_dynamo(cls):
        # torch would wrap __torch_dispatch__ in torch._dynamo.disable, importing dynamo
        # (about 1.5 s and 75 MiB on first use); nothing here is compiled
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        dfr = self.deferral
        if dfr.pending and not dfr.internal:
            for t in tree_leaves((args, kwargs)):
                if isinstance(t, torch.Tensor) and t.device.type == "cpu" and not t.is_meta:
                    key = _key(t)
                    if key and key in dfr.pending:
                        if func in _BENIGN:
                            continue
                        if func.is_view:
                            # the view may be kept: the memory stays where it is
                            dfr.pinned.add(key)
                            continue
                        dfr.flush_key(key)
        return func(*args, **kwargs)


def guarding(deferral):
    """Context: every torch operation on a tensor with a pending fill writes it first."""
    return _Guard(deferral)


class _DefaultDtype:
    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.prev = torch.get_default_dtype()
        if self.dtype is not None:
            torch.set_default_dtype(self.dtype)

    def __exit__(self, *exc):
        torch.set_default_dtype(self.prev)
        return False


def _takes_dtype(factory):
    import inspect
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return False
    return any(p.name == "dtype" or p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def build(factory, *args, dtype=None, rng=None, threads=None, **kwargs):
    r"""Construct a model with the values of `patch`, at close to the speed of one fill.

    ``build(factory, *args, **kwargs)`` returns ``factory(*args, **kwargs)`` built as
    ``with fastinit.torch.patch(rng=rng, threads=threads): factory(*args, **kwargs)`` would
    build it, bit for bit, but the fills are deferred: each ``torch.nn.init`` call is
    validated and takes its place in the random stream when it is made, and all of them are
    written at the end, in one batched engine call (`fastinit.fill_many`) into one fresh
    allocation holding every parameter and buffer whose values come from those fills
    (each keeps a storage of its own). Anything else that touches a tensor during
    construction -- arithmetic in a custom ``_init_weights``, ``fill_``/``zero_``, a
    ``padding_idx`` row, ``torch.randn``, reads -- first gets that tensor's fill written and
    then runs as under `patch`, so no tensor is skipped and none gets other values.

    Works for any ``torch.nn.Module`` factory (a class, a function) and for Hugging Face
    ``transformers``: ``build(AutoModelForCausalLM.from_config, config, dtype=torch.bfloat16)``
    or ``build(LlamaForCausalLM, config, dtype=torch.bfloat16)``. The result is an ordinary
    model: training, ``state_dict``, ``save_pretrained``, ``.to(device)``, tied weights (the
    same Parameter objects as under `patch`), deleting a parameter (its pages are returned
    to the system once no tensor uses them).

    Parameters
    ----------
    factory : callable
        Returns the model (a ``torch.nn.Module``).
    *args, **kwargs
        Passed to `factory`.
    dtype : torch.dtype, optional
        The default floating dtype while the factory runs (``torch.set_default_dtype``),
        and passed on as ``dtype=`` to factories that take it (``nn.Linear``,
        ``AutoModel*.from_config``).
    rng : None, int, SeedSequence or numpy Generator
        As `patch`'s: None draws each call's seed from torch's RNG (``torch.manual_seed``
        makes it reproducible); otherwise one Generator is consumed call after call.
    threads : int, optional
        Threads for the fills.

    Returns
    -------
    torch.nn.Module
        What `factory` returned.

    Notes
    -----
    Reads that bypass torch's operators during construction (``tensor.numpy()``,
    ``data_ptr()`` with ctypes) see memory that is not written yet; a tensor that a
    construction-time view (``weight[0]``) was taken of keeps its memory and is filled
    there. Only CPU tensors are deferred (others are filled as under `patch`).

    Examples
    --------
    >>> import torch, fastinit.torch as ft
    >>> model = ft.build(torch.nn.TransformerEncoderLayer, 256, 4, rng=0)
    >>> with ft.patch(rng=0):
    ...     ref = torch.nn.TransformerEncoderLayer(256, 4)
    >>> all(torch.equal(a, b) for a, b in zip(model.parameters(), ref.parameters()))
    True
    """
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {type(factory).__name__}")
    if dtype is not None:
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        if _takes_dtype(factory):
            kwargs["dtype"] = dtype
    if threads is not None:
        _engine.check_threads(threads)
    dfr = Deferral(threads)
    try:
        with patch(rng=rng, threads=threads), deferring(dfr), _DefaultDtype(dtype), \
                guarding(dfr):
            model = factory(*args, **kwargs)
    except BaseException:
        dfr.discard()
        raise
    dfr.finish(model if isinstance(model, torch.nn.Module) else None)
    return model
