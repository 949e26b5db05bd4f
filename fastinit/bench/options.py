"""The options of a run: sizes, dtypes, peers and cases, their checking, and `BenchError`."""

import re

import numpy as np

import fastinit
from .peers import CASES, PEERS, _peer_version, available_peers
from .workload import _buffer_dtype

#: Output dtypes the benchmark accepts.
DTYPES = ("float32", "float64", "bfloat16", "float16")

_UNITS = {"": 1, "b": 1,
          "k": 1024, "kib": 1024, "kb": 1000,
          "m": 1024 ** 2, "mib": 1024 ** 2, "mb": 1000 ** 2,
          "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3,
          "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


class BenchError(ValueError):
    """A benchmark option that cannot be honoured (bad value, missing optional package)."""


def parse_size(text):
    """Number of bytes in a size such as ``"1GiB"``, ``"256MiB"``, ``"4KiB"`` or ``"1e6"``.

    Parameters
    ----------
    text : str or int
        A non-negative number with an optional unit: B, KiB/MiB/GiB/TiB (powers of 1024;
        K/M/G/T are the same), KB/MB/GB/TB (powers of 1000). Case-insensitive.

    Returns
    -------
    int
        The size in bytes (at least 1).

    Raises
    ------
    BenchError
        If the text is not a size or the size is zero.
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = _SIZE_RE.match(str(text))
        if not m:
            raise BenchError(f"size {text!r} is not a size; expected e.g. 1GiB, 256MiB, 4KiB, "
                             f"64KB or a number of bytes")
        value, unit = float(m.group(1)), m.group(2).lower()
    if unit not in _UNITS:
        raise BenchError(f"size {text!r} has an unknown unit {unit!r}; expected one of "
                         f"B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB")
    nbytes = int(value * _UNITS[unit])
    if nbytes < 1:
        raise BenchError(f"size {text!r} must be at least 1 byte")
    return nbytes


def format_size(nbytes):
    """A byte count as the shortest exact binary unit, e.g. ``1 GiB``, ``4 KiB``, ``1000 B``."""
    for unit, scale in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2),
                        ("KiB", 1024)):
        if nbytes >= scale:
            value = nbytes / scale
            return f"{value:g} {unit}" if value < 10000 else f"{value:.0f} {unit}"
    return f"{nbytes} B"


def _check_options(size, dtype, threads, peers, cases, repeat, warmup, max_time):
    nbytes = parse_size(size) if isinstance(size, str) else size
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 1:
        raise BenchError(f"size must be a positive number of bytes or a size string, "
                         f"got {size!r}")
    if dtype not in DTYPES:
        raise BenchError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    itemsize = _buffer_dtype(dtype)[0].itemsize
    if nbytes < itemsize:
        raise BenchError(f"size {format_size(nbytes)} holds no {dtype} element")
    if threads is None:
        threads = fastinit.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise BenchError(f"threads must be a positive int, got {threads!r}")
    for name, value, low in (("repeat", repeat, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise BenchError(f"{name} must be an int >= {low}, got {value!r}")
    if (isinstance(max_time, bool) or not isinstance(max_time, (int, float, np.number))
            or not max_time > 0):
        raise BenchError(f"max_time must be a positive number of seconds, got {max_time!r}")
    peers = _resolve_peers(peers)
    if cases is None:
        cases = list(CASES)
    cases = list(cases)
    bad = [c for c in cases if c not in CASES]
    if bad or not cases:
        raise BenchError(f"unknown case(s) {', '.join(bad) or '(none given)'}; "
                         f"expected some of {', '.join(CASES)}")
    return int(nbytes), int(threads), peers, cases


def _resolve_peers(peers):
    """Peers to run: None/'auto' = the installed ones, 'none', 'all' or names (must exist)."""
    if peers is None or peers == "auto":
        return available_peers()
    if isinstance(peers, str):
        peers = [p.strip() for p in peers.split(",") if p.strip()]
    peers = [p.replace("mkl-random", "mkl_random").replace("numpy_mt", "numpy-mt")
             for p in peers]
    if peers in (["none"], []):
        return []
    if peers == ["all"]:
        peers = list(PEERS)
    bad = [p for p in peers if p not in PEERS]
    if bad:
        raise BenchError(f"unknown peer(s) {', '.join(bad)}; expected a comma list of "
                         f"{', '.join(PEERS)}, or 'auto', 'all', 'none'")
    missing = [p for p in peers if _peer_version(p) is None]
    if missing:
        raise BenchError(f"peer(s) {', '.join(missing)} requested but not importable here; "
                         f"installed peers: {', '.join(available_peers()) or 'none'}")
    return [p for p in PEERS if p in peers]           # table order, no duplicates
