"""`fill_many`: many fills in one engine call, all threads busy across tensor boundaries."""

import collections.abc

from . import _engine, _fill, _layout, _rng, initializers, samplers

#: The functions `fill_many` batches: each is one engine fill of its `out`.
BATCHABLE = {f.__name__: f for f in (
    samplers.random, samplers.uniform, samplers.normal, samplers.truncated_normal,
    initializers.variance_scaling,
    initializers.xavier_uniform, initializers.xavier_normal,
    initializers.he_uniform, initializers.he_normal,
    initializers.lecun_uniform, initializers.lecun_normal, initializers.selu_normal)}
_ALIASES = {"glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
            "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal"}
_BY_ID = {id(f): f for f in BATCHABLE.values()}
_RESERVED = ("shape", "out", "threads")


class FillSpec(collections.namedtuple("FillSpec", ("fn", "out", "kwargs"))):
    """One item of `fill_many`: ``fn(out=out, **kwargs)``.

    Parameters
    ----------
    fn : callable or str
        A fastinit sampler or variance-scaling initializer (`random`, `uniform`, `normal`,
        `truncated_normal`, `variance_scaling`, `xavier_*`/`glorot_*`, `he_*`/`kaiming_*`,
        `lecun_*`, `selu_normal`) or its name.
    out : array or writable buffer
        Filled in place.
    **kwargs
        The other arguments of `fn` by name (``rng=``, ``std=``, ``dtype=``,
        ``global_shape=``, ``index=``, ...); not ``shape``, ``out`` or ``threads``.

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> w = np.empty((4, 3), np.float32)
    >>> spec = fastinit.FillSpec("normal", w, std=0.02, rng=0)
    """

    __slots__ = ()

    def __new__(cls, fn, out, /, **kwargs):
        return super().__new__(cls, fn, out, kwargs)


def _resolve_fn(fn, i):
    if isinstance(fn, str):
        f = BATCHABLE.get(_ALIASES.get(fn, fn))
        if f is None:
            raise ValueError(f"items[{i}]: unknown initializer {fn!r}; fill_many batches "
                             f"{sorted(BATCHABLE) + sorted(_ALIASES)}")
        return f
    f = _BY_ID.get(id(fn))
    if f is None:
        name = getattr(fn, "__name__", type(fn).__name__)
        raise TypeError(f"items[{i}]: fill_many batches fastinit's samplers and "
                        f"variance-scaling initializers ({sorted(BATCHABLE)}), or their names; "
                        f"got {name!r} (call it directly)")
    return f


def _unpack(item, i):
    if isinstance(item, FillSpec):
        return item.fn, item.out, item.kwargs
    if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
        raise TypeError(f"items[{i}] must be a FillSpec or a tuple (fn, out) or "
                        f"(fn, out, kwargs), got {type(item).__name__}")
    fn, out = item[0], item[1]
    kwargs = item[2] if len(item) == 3 else {}
    if not isinstance(kwargs, collections.abc.Mapping):
        raise TypeError(f"items[{i}]: kwargs must be a mapping, got {type(kwargs).__name__}")
    return fn, out, kwargs


def _plan(collector, i, item):
    """Validate items[i] and have its function record its one fill in `collector` (nothing
    is written yet); return its output."""
    fn, out, kwargs = _unpack(item, i)
    fn = _resolve_fn(fn, i)
    bad = [k for k in kwargs if k in _RESERVED or not isinstance(k, str)]
    if bad:
        raise TypeError(f"items[{i}]: {bad[0]!r} is not an argument fill_many passes on "
                        f"(the item's out is the output; threads= is fill_many's)")
    if out is None:
        raise TypeError(f"items[{i}]: out must be an array or a writable buffer, got None")
    n_before = len(collector.plans)
    try:
        arr = _layout.as_writable_array(out)
        if arr.dtype.kind == "c":
            raise TypeError(f"complex outputs are not batched; call {fn.__name__} directly")
        fn(out=out, **kwargs)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"items[{i}] ({fn.__name__}): {exc}") from exc
    if len(collector.plans) - n_before > 1:     # pragma: no cover (guard)
        raise RuntimeError(f"items[{i}]: {fn.__name__} made more than one fill")
    return out


def fill_many(items, *, threads=None):
    """Fill many outputs, each with its own initializer, parameters and stream, in one call.

    Every item is ``fn(out=out, **kwargs)`` with `fn` one of fastinit's samplers or
    variance-scaling initializers; the result is bit for bit that of making these calls one
    after the other, in order (an rng Generator shared by several items is consumed item
    after item, as the calls would consume it). The work is one engine call: the outputs'
    elements are cut into blocks of 65536 and the threads take blocks from one list, so a
    model's hundreds of tensors, large and small, keep every thread busy, with no thread
    start-up and no Python round trip per tensor.

    Parameters
    ----------
    items : iterable
        Each a `FillSpec`, or a tuple ``(fn, out)`` or ``(fn, out, kwargs)``: `fn` a function
        (`random`, `uniform`, `normal`, `truncated_normal`, `variance_scaling`,
        `xavier_uniform`/`glorot_uniform`, `xavier_normal`/`glorot_normal`,
        `he_uniform`/`kaiming_uniform`, `he_normal`/`kaiming_normal`, `lecun_uniform`,
        `lecun_normal`, `selu_normal`) or its name; `out` the array (or writable buffer) to
        fill in place, any layout, float32/float64/float16/bfloat16 (complex outputs: call
        the function directly); `kwargs` a mapping of `fn`'s other arguments by name, e.g.
        ``{"std": 0.02, "rng": 0}`` (not ``shape``, ``out`` or ``threads``).
    threads : int, optional
        Threads for the whole batch (default `get_num_threads()`); never changes the values.

    Returns
    -------
    list
        The outputs, in the order of `items`.

    Raises
    ------
    TypeError, ValueError
        As the functions themselves raise them, prefixed with the item's position
        (``items[3]: std must be >= 0``). Every item is validated before anything is written:
        a bad batch writes no output and advances no Generator.
    KeyboardInterrupt
        Ctrl-C stops a long batch within tens of milliseconds; the outputs are then partly
        filled and no Generator is advanced.

    Notes
    -----
    Two items must not write the same memory (the blocks run in parallel, in no fixed
    order). Outputs that alias one another give unspecified values.

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> w = np.empty((256, 128), np.float32)
    >>> b = np.empty(256, np.float32)
    >>> g = np.random.default_rng(0)
    >>> _ = fastinit.fill_many([(fastinit.xavier_uniform, w, {"rng": g}),
    ...                         ("uniform", b, {"low": -0.1, "high": 0.1, "rng": g})])
    >>> w2, b2 = np.empty_like(w), np.empty_like(b)
    >>> g = np.random.default_rng(0)
    >>> _ = fastinit.xavier_uniform(out=w2, rng=g)
    >>> _ = fastinit.uniform(None, -0.1, 0.1, out=b2, rng=g)
    >>> bool((w == w2).all() and (b == b2).all())
    True
    """
    nthreads = _engine.resolve_threads(threads)
    if isinstance(items, (str, bytes)) or not isinstance(items, collections.abc.Iterable):
        raise TypeError(f"items must be an iterable of FillSpec or (fn, out[, kwargs]) "
                        f"tuples, got {type(items).__name__}")
    items = list(items)
    collector = _fill.Collector(commit=False)
    try:
        with _fill.collecting(collector):
            outs = [_plan(collector, i, item) for i, item in enumerate(items)]
        _fill.run(collector.plans, nthreads)
        # only now, with every output written, do the Generators move on
        for bg, state in collector.final_states():
            _rng.write_state(bg, state)
    finally:
        collector.release()
    return outs
