"""The common path of every sampler: validate everything, then fill once."""

import math

from . import _core, _dtypes, _engine, _layout, _rng

UNIFORM, NORMAL = 0, 1
# Most elements per engine call (calls are sized to about 20 ms; Ctrl-C is checked between).
_SLICE = 1 << 24


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
