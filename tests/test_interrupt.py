"""Ctrl-C: a long fill raises KeyboardInterrupt promptly (DESIGN.md: within ~0.2 s; asserted
here: within 1 s of SIGINT), leaves the process healthy and the Generator unadvanced.

Each run is a subprocess that starts a multi-second fill and sends itself SIGINT from a timer
thread after 0.5 s.
"""

import math
import os
import subprocess
import sys
import textwrap

import pytest

import fastinit

SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading, time
    import numpy as np
    import fastinit

    mode = sys.argv[1]
    fired = []

    def fire():
        time.sleep(0.5)
        fired.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    g = np.random.Generator(np.random.PCG64(1))
    state = g.bit_generator.state
    if mode == "orthogonal":
        # QR of a 4096 x 4096 matrix: seconds inside LAPACK, after a short normal fill
        a = None
        call = lambda: fastinit.orthogonal((4096, 4096), rng=g)
    elif mode == "contiguous":
        # 1.5e9 float32 (6 GB of address space; only the pages written before the
        # interrupt, well under 2 GB, are ever touched): several seconds of work
        a = np.empty(1_500_000_000, np.float32)
        call = lambda: fastinit.normal(out=a, rng=g)
    else:
        # one column of a (2^24, 4096) virtual matrix: 2^24 elements, each 4096 words apart
        a = np.empty(2**24, np.float32)
        call = lambda: fastinit.normal(out=a, rng=g, global_shape=(2**24, 4096),
                                       index=(slice(None), 7))
    threading.Thread(target=fire, daemon=True).start()
    t0 = time.monotonic()
    try:
        call()
    except KeyboardInterrupt:
        t1 = time.monotonic()
        ok = np.array_equal(fastinit.normal(1000, rng=3), fastinit.normal(1000, rng=3))
        unadvanced = g.bit_generator.state == state
        head = fastinit.normal(1000, rng=1) if mode == "contiguous" else None
        # nothing of an orthogonal fill is written before its QR ends: the Generator is
        # not advanced (and a later call still works)
        partly = bool(np.array_equal(a[:1000], head)) if mode == "contiguous" else True
        print(f"INTERRUPTED latency={t1 - fired[0]:.3f} ok={ok} unadvanced={unadvanced} "
              f"partly={partly}", flush=True)
    else:
        print(f"COMPLETED after {time.monotonic() - t0:.3f} s", flush=True)
""")


def run_child(mode, timeout):
    env = dict(os.environ)
    # the child imports the same fastinit as this process
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run([sys.executable, "-c", SCRIPT, mode], env=env, timeout=timeout,
                              capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        proc = None
    if proc is None:
        pytest.fail(f"{mode} fill neither finished nor was interrupted within {timeout} s "
                    f"(SIGINT was sent after 0.5 s)")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _parse(line):
    assert line.startswith("INTERRUPTED"), f"the fill was not interrupted: {line}"
    fields = dict(kv.split("=") for kv in line.split()[1:])
    return float(fields["latency"]), fields


@pytest.mark.slow
def test_ctrl_c_interrupts_a_long_contiguous_fill():
    latency, f = _parse(run_child("contiguous", timeout=60))
    assert latency < 1.0, f"KeyboardInterrupt came {latency:.3f} s after SIGINT"
    assert f["ok"] == "True", "fills after the interrupt do not work"
    assert f["partly"] == "True", "the first elements were not written before the interrupt"
    assert f["unadvanced"] == "True", "an interrupted fill advanced the Generator"


@pytest.mark.slow
def test_ctrl_c_interrupts_a_long_strided_block_fill():
    """A column block of a large virtual matrix: 64 MB of output, but much work per element
    (the engine generates a window of 1024 words for each element 4096 words apart: about
    1.3 us per element against a few ns contiguous). The bridge checks for Ctrl-C every 2^24
    *output* elements, so this whole fill (2^24 elements, over 10 s) is one uninterruptible
    slice."""
    latency, f = _parse(run_child("column", timeout=8))
    assert latency < 1.0, f"KeyboardInterrupt came {latency:.3f} s after SIGINT"
    assert f["ok"] == "True"
    assert f["unadvanced"] == "True"


@pytest.mark.slow
def test_ctrl_c_interrupts_orthogonal_during_its_qr():
    """LAPACK never looks at signals: the QR runs in a worker thread that the caller waits
    on in 20 ms steps. Before, Ctrl-C waited for the whole QR (13 s at 4096 x 4096) and the
    Generator had been advanced by the normal draws."""
    latency, f = _parse(run_child("orthogonal", timeout=120))
    assert latency < 0.5, f"KeyboardInterrupt came {latency:.3f} s after SIGINT"
    assert f["ok"] == "True"
    assert f["unadvanced"] == "True", "an interrupted orthogonal fill advanced the Generator"


GAPS = textwrap.dedent("""
    import signal, sys, time
    import numpy as np
    import fastinit

    # A Python signal handler runs only when the fill checks for signals, i.e. between two
    # of its slices: with a 5 ms timer, the gaps between handler runs are the slice times,
    # which bound how long Ctrl-C waits.
    stamps = []
    signal.signal(signal.SIGALRM, lambda *a: stamps.append(time.monotonic()))
    mode = sys.argv[1]
    if mode == "transposed":
        a = np.ones((8192, 8192), np.float32).T      # pages touched: the stores are timed
    elif mode == "transposed16":
        a = np.ones((8192, 8192), np.float16).T
    elif mode == "strided":
        a = np.ones((4096, 32768), np.float32)[:, ::4]
    else:
        a = np.ones((1 << 26,), np.float32)
    signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005)
    t0 = time.monotonic()
    fastinit.normal(out=a, rng=1)
    t1 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0)
    marks = [t0] + [s for s in stamps if t0 <= s <= t1] + [t1]
    gaps = [b - a for a, b in zip(marks, marks[1:])]
    # share of the fill spent in stretches of over 0.2 s without a signal check
    slow = sum(g for g in gaps if g > 0.2) / (t1 - t0)
    print(f"{t1 - t0:.3f} {slow:.3f} {max(gaps):.4f}")
""")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["transposed", "transposed16", "strided", "contiguous"])
def test_signal_checks_are_tens_of_milliseconds_apart(mode):
    """Scattered stores (a transposed or strided out) cost 10-100x more per element than a
    contiguous run; slices sized in elements alone made Ctrl-C wait 130-400 ms there. Slices
    are sized by their cost and by the time they take: the median time between two signal
    checks stays near the 40 ms target: stretches of more than 0.2 s between two checks
    (a busy machine can always stall one) make up under a quarter of the fill."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", GAPS, mode], env=env, timeout=300,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    total, slow, worst = map(float, proc.stdout.split())
    assert slow < 0.25, f"{mode}: {slow:.0%} of the {total:.3f} s fill in stretches over " \
                        f"0.2 s without a signal check (longest {worst:.3f} s)"


COPY = textwrap.dedent("""
    import os, signal, threading, time
    import numpy as np
    import fastinit

    a = np.ones((1 << 14, 1 << 14), np.float32)           # 1 GiB, pages touched
    fired = []

    def fire():
        time.sleep(0.02)
        fired.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    t0 = time.monotonic()
    fastinit.constant(None, 2.0, out=a, threads=1)
    full = time.monotonic() - t0
    threading.Thread(target=fire, daemon=True).start()
    try:
        fastinit.constant(None, 3.0, out=a, threads=1)
    except KeyboardInterrupt:
        print(f"{time.monotonic() - fired[0]:.3f} {full:.3f}")
    else:
        print(f"nan {full:.3f}")
""")


@pytest.mark.slow
def test_ctrl_c_interrupts_a_large_deterministic_fill():
    """constant/eye/dirac/orthogonal write through np.copyto, which never checks signals:
    they copy in pieces of 2^22 elements that the caller waits for interruptibly."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", COPY], env=env, timeout=300,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    latency, full = map(float, proc.stdout.split())
    if math.isnan(latency):            # done before the signal came: nothing to wait for
        assert full < 0.1
        return
    assert latency < 0.1, f"KeyboardInterrupt {latency} s after SIGINT ({full:.3f} s fill)"
