"""The machine and the fastinit build a benchmark ran on, as recorded in every report."""

import os
import platform

import numpy as np

import fastinit


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _total_memory():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info():
    """A description of this machine and of the fastinit build, for reports.

    Returns
    -------
    dict
        ``cpu``, ``machine``, ``cpu_count``, ``usable_cores``, ``memory_bytes``,
        ``platform``, ``python``, ``fastinit``, ``numpy``, ``simd_path``,
        ``simd_supported``, ``default_threads``.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "memory_bytes": _total_memory(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "fastinit": getattr(fastinit, "__version__", "unknown"),
        "numpy": np.__version__,
        "simd_path": fastinit.simd_path(),
        "simd_supported": list(fastinit.simd_supported()),
        "default_threads": fastinit.get_num_threads(),
    }
