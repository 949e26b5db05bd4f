"""The common path of every sampler: validate everything, then fill once."""

import math
import threading

from . import _core, _dtypes, _engine, _layout, _rng

UNIFORM, NORMAL = 0, 1
# Most elements per engine call (calls are sized to about 20 ms; Ctrl-C is checked between).
_SLICE = 1 << 24

_local = threading.local()


class Plan:
    """One validated engine fill: `arr` gets (sampler, code, params) from PCG64 `state`, as
    the block (gstart, gsteps) of its global tensor."""

    __slots__ = ("sampler", "code", "params", "state", "arr", "gsteps", "gstart", "n")

    def engine_item(self):
        return (self.sampler, self.code, self.params, self.state, self.arr, self.gsteps,
                self.gstart)


class Collector:
    """While active (`collecting`), fills are validated and recorded as Plans instead of run.

    A Generator's state is followed from plan to plan (each plan starts where the previous
    one using it ended); ``commit=True`` writes each new state back at once (the Generator is
    then advanced as by the fills themselves), ``commit=False`` leaves that to the caller
    (`final_states`), holding each bit generator's lock from its first use until `release`.
    """

    def __init__(self, commit):
        self.commit = commit
        self.plans = []
        self._states = {}        # id(bitgen) -> [bitgen, state]
        self._locked = []

    def state_for(self, bg):
        entry = self._states.get(id(bg))
        if entry is None:
            if not self.commit:
                bg.lock.acquire()
                self._locked.append(bg)
            entry = self._states[id(bg)] = [bg, None]
        if self.commit:
            with bg.lock:              # others may have drawn from it since the last fill
                entry[1] = _rng.read_state(bg)
        elif entry[1] is None:
            entry[1] = _rng.read_state(bg)
        return entry

    def advance(self, entry, after):
        entry[1] = after
        if self.commit:
            with entry[0].lock:
                _rng.write_state(entry[0], after)

    def final_states(self):
        return [(bg, st) for bg, st in self._states.values()]

    def release(self):
        while self._locked:
            self._locked.pop().lock.release()


class collecting:
    """Context: route this thread's fills to `collector`."""

    def __init__(self, collector):
        self.collector = collector

    def __enter__(self):
        self.prev = getattr(_local, "collector", None)
        _local.collector = self.collector
        return self.collector

    def __exit__(self, *exc):
        _local.collector = self.prev
        return False


def fill(sampler, make_params, shape, out, dtype, rng, threads, global_shape, index):
    """Validate the arguments, then fill `out` (or a new array) in place and return it.

    Nothing is written, and a Generator is not advanced, unless every argument is valid.
    """
    arr = None
    if out is not None:
        arr = _layout.as_writable_array(out)
    code = _dtypes.resolve(dtype, None if arr is None else arr.dtype)
    params = make_params(code)
    nthreads = _engine.resolve_threads(threads)
    bshape, gstart, gsteps = _layout.block(shape, None if arr is None else arr.shape,
                                           global_shape, index)
    stream = _rng.resolve(rng)
    if arr is None:
        arr = _layout.allocate(bshape, code)
        out = arr
    n = math.prod(bshape)
    _engine.warn_if_serial(n, nthreads)
    word32 = code != _dtypes.F64
    # A block of a larger tensor reads the stream without consuming it: every block of the
    # same tensor must see the same state.
    advance = global_shape is None
    bg = stream.bitgen
    collector = getattr(_local, "collector", None)
    if collector is not None:
        plan = Plan()
        plan.sampler, plan.code, plan.params = sampler, code, params
        plan.arr, plan.gsteps, plan.gstart, plan.n = arr, gsteps, gstart, n
        if bg is None:
            plan.state = stream.state
        else:
            entry = collector.state_for(bg)
            plan.state = entry[1]
            if advance:
                collector.advance(entry, _core.stream_after(plan.state, word32, n))
        if n:
            collector.plans.append(plan)
        return out
    if bg is None:
        if n:
            _core.fill(sampler, code, params, stream.state, arr, gsteps, gstart, nthreads,
                       _SLICE)
        return out
    # The bit generator's lock makes a Generator shared between threads hand each fill its
    # own piece of the stream, as numpy's own methods do. On error or Ctrl-C it is not advanced.
    with bg.lock:
        state = _rng.read_state(bg)
        if n:
            _core.fill(sampler, code, params, state, arr, gsteps, gstart, nthreads, _SLICE)
        if advance:
            _rng.write_state(bg, _core.stream_after(state, word32, n))
    return out


def run(plans, threads):
    """Fill every plan in one batched engine call (threads already resolved)."""
    if plans:
        _core.fill_many([p.engine_item() for p in plans], threads, _SLICE)
