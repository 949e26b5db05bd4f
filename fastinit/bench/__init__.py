"""Throughput of fastinit side by side with the fills users would otherwise pick.

One run fills the same warm buffer with every case (``uniform``, ``normal``,
``truncated_normal`` and the ``xavier_uniform`` / ``he_normal`` / truncated-normal
``variance_scaling`` initializers), once with fastinit and once with each installed peer:

``numpy``
    ``numpy.random.Generator`` on one thread: ``random(dtype=, out=)`` for the uniform
    family, ``standard_normal(dtype=, out=)`` for the normal family (NumPy has no
    truncated normal and no initializers; these are the primitives the user would start
    from, so they are a lower bound on NumPy's cost).
``numpy-mt``
    NumPy's documented multithreaded recipe ("Multithreaded Generation" in the NumPy
    docs): ``SeedSequence.spawn`` one Generator per thread, a
    ``concurrent.futures.ThreadPoolExecutor`` fills one slice each.
``torch``
    ``torch.nn.init`` (``uniform_``, ``normal_``, ``trunc_normal_``, ``xavier_uniform_``,
    ``kaiming_normal_``) on a ``torch.from_numpy`` view of the same buffer.
``jax``
    ``jax.random`` / ``jax.nn.initializers`` on the CPU, jitted, ``block_until_ready``.
    JAX always returns a new array; it is timed as such.
``mkl_random``
    Intel's ``mkl_random`` when importable (float64 samples, copied into the buffer).
``limit``
    The memory-bandwidth limit of writing the buffer, by three methods: a parallel
    ``ndarray.fill`` (NumPy releases the GIL while filling; also on one thread, which wins for
    small buffers), the engine's plain stores and its non-temporal (streaming) stores -- the
    stores fastinit's fills use -- each by the same number of threads and timed `repeat`
    times. It is measured at the start and again right before each case's fills. On a
    shared machine single measurements vary by 2x, so every fraction of the limit uses one
    number for the whole run (per mode): the best of all these measurements, the bandwidth
    the machine was seen to reach; the table states it, the method that reached it and the
    spread of all the samples.

Throughput is bytes of the requested buffer written per second (GB = 1e9 bytes), so every
implementation is compared on the same work. The speed-up of fastinit over a peer is the
ratio of their throughputs, the fraction of the limit is fastinit's throughput over the
limit's. With ``fresh=True`` the run also measures fills that allocate their result
(``shape=``; first touch of new pages) beside the warm ``out=`` fills.

The measurement functions (`run`, `sweep`) return plain dicts (JSON-ready); `format_table`,
`format_sweep` and `plot` present them. ``python -m fastinit bench`` is the command line.

Its modules (every public name is imported from them into ``fastinit.bench``):

``runner``
    `run` and `sweep`: the order of the measurements, the ``config`` and ``summary`` of a
    report.
``timing``
    How one fill is timed: warm-up, looping of short fills, repeats, ``max_time``.
``limit``
    The memory-bandwidth limit: the plain writes it times and the run's limit.
``peers``
    fastinit and each peer as a fill of one case; `CASES`, `PEERS`, `available_peers`.
``workload``
    The buffer every implementation is given and the fill it hands back.
``options``
    `parse_size`, `format_size`, `DTYPES`, the checking of every option, `BenchError`.
``machine``
    `machine_info`: the CPU, memory and fastinit build a report records.
``report``
    `format_table` and `format_sweep`, with the notes under the table.
``figures``
    `plot`, `require_matplotlib`: matplotlib figures of a run or a sweep.
"""

from .figures import plot, require_matplotlib
from .machine import machine_info
from .options import DTYPES, BenchError, format_size, parse_size
from .peers import CASES, PEERS, available_peers
from .report import format_sweep, format_table
from .runner import run, sweep, sweep_points

__all__ = [
    "CASES", "PEERS", "DTYPES", "BenchError", "parse_size", "format_size", "machine_info",
    "available_peers", "run", "sweep", "sweep_points", "format_table", "format_sweep", "plot",
    "require_matplotlib",
]
