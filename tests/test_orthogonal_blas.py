"""`orthogonal`'s bits do not depend on how many threads the BLAS under numpy runs (its QR
runs with BLAS pinned to one thread), and the process's BLAS settings are restored after."""

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import fastinit

SCRIPT = textwrap.dedent("""
    import hashlib, numpy as np, fastinit
    h = hashlib.sha256()
    for arr in (fastinit.orthogonal((300, 2000), dtype=np.float64, rng=1),
                fastinit.orthogonal((1200, 300), rng=2),
                fastinit.orthogonal((64, 32, 3, 3), column_axis=1, rng=3, dtype=np.float64),
                fastinit.delta_orthogonal((256, 200, 3), rng=4, dtype=np.float64)):
        h.update(arr.tobytes())
    print(h.hexdigest())
""")


def digest(env_extra, script=SCRIPT):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(env_extra)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.slow
def test_orthogonal_bits_do_not_depend_on_blas_threads():
    one = digest({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    for env in ({"OPENBLAS_NUM_THREADS": "2"}, {"OMP_NUM_THREADS": "2"},
                {"OPENBLAS_NUM_THREADS": "4", "OMP_NUM_THREADS": "4"}, {}):
        assert digest(env) == one, f"orthogonal differs with {env}"


def test_orthogonal_equals_the_single_thread_factorisation_here():
    """In this process (whatever its BLAS threads): numpy's QR on one thread, signs fixed."""
    from threadpoolctl import threadpool_limits
    w = fastinit.orthogonal((300, 500), dtype=np.float64, rng=5)
    a = fastinit.normal((300, 500), dtype=np.float64, rng=5)
    with threadpool_limits(1, user_api="blas"):
        q, r = np.linalg.qr(a.T)
    q *= np.where(np.diagonal(r) < 0, -1.0, 1.0)
    assert np.array_equal(w, q.T)


def test_blas_threads_are_restored():
    before = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
    fastinit.orthogonal((200, 200), rng=1)
    after = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
    assert after == before


def test_orthogonal_consumes_a_generator_as_before():
    """rows * cols normal draws, exactly as a normal fill of that size advances it."""
    for dtype in (np.float32, np.float64):
        g, h = np.random.default_rng(9), np.random.default_rng(9)
        g.random(3, dtype=np.float32)
        h.random(3, dtype=np.float32)
        fastinit.orthogonal((40, 30), rng=g, dtype=dtype)
        fastinit.normal((40, 30), rng=h, dtype=dtype)
        assert g.bit_generator.state == h.bit_generator.state
    # a block fill reads but does not consume
    g = np.random.default_rng(9)
    st = g.bit_generator.state
    fastinit.orthogonal((10, 30), rng=g, global_shape=(40, 30), index=(slice(0, 10),))
    assert g.bit_generator.state == st


def test_hash_is_stable_within_a_process():
    h = [hashlib.sha256(fastinit.orthogonal((100, 300), rng=1).tobytes()).digest()
         for _ in range(3)]
    assert h[0] == h[1] == h[2]


JAX_SCRIPT = textwrap.dedent("""
    import hashlib, numpy as np, jax, jax.numpy as jnp, fastinit.jax as fj
    jax.config.update("jax_enable_x64", True)   # complex128: its LAPACK QR is thread-sensitive
    h = hashlib.sha256()
    for i, shape in enumerate([(300, 2000), (1200, 300)]):
        w = fj.orthogonal()(jax.random.key(i), shape, jnp.complex128)
        h.update(np.asarray(w).tobytes())
        assert w.dtype == jnp.complex128
    print(h.hexdigest())
""")


@pytest.mark.slow
def test_jax_complex_orthogonal_bits_do_not_depend_on_blas_threads():
    """fastinit.jax's complex orthogonal factorises on the NumPy side through the same QR."""
    pytest.importorskip("jax")
    one = digest({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}, JAX_SCRIPT)
    for env in ({"OPENBLAS_NUM_THREADS": "2"}, {}):
        assert digest(env, JAX_SCRIPT) == one, f"complex orthogonal differs with {env}"
