"""fastinit.dask: chunked dask arrays equal bit for bit to the single-process fill.

Every chunking (regular, irregular, one chunk, 1-element chunks along an axis) of a 2-D and a
4-D tensor, under the threaded scheduler and a dask.distributed LocalCluster of 2 worker
processes; samplers and initializers in every dtype; zarr and .npy round trips; bad input;
per-name seeding.
"""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastinit

da = pytest.importorskip("dask.array")

import fastinit.dask as fd  # noqa: E402

SHAPE2 = (13, 10)
SHAPE4 = (6, 5, 3, 4)
CHUNKS2 = {
    "regular": (4, 5),
    "irregular": ((1, 5, 7), (3, 3, 4)),
    "single": -1,
    "ones-axis0": ((1,) * 13, (10,)),
    "ones-axis1": ((7, 6), (1,) * 10),
    "auto": "auto",
}
CHUNKS4 = {
    "regular": (2, 2, 2, 2),
    "irregular": ((1, 2, 3), (4, 1), (2, 1), (1, 3)),
    "single": -1,
    "ones-axis2": ((6,), (5,), (1, 1, 1), (4,)),
    "ones-axis0": (1, -1, -1, 2),
}


def run_python(code):
    """Run `code` in a fresh interpreter that imports the same fastinit as this process."""
    import os
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True).stdout


def bits_equal(got, want, what=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    gb = np.ascontiguousarray(got).view(np.uint8)
    wb = np.ascontiguousarray(want).view(np.uint8)
    assert np.array_equal(gb, wb), f"{what}: values differ from the single-process fill"


def irregular(shape):
    """Uneven chunks on every axis: a 1-element chunk first, then halves of the rest."""
    out = []
    for n in shape:
        rest = n - 1
        out.append(tuple(c for c in (1, rest // 2, rest - rest // 2) if c))
    return tuple(out)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # port / dashboard notices
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address=None)
        cl = distributed.Client(cluster)
    try:
        yield cl
    finally:
        cl.close()
        cluster.close()


@pytest.fixture(params=["threads", "distributed"])
def compute(request):
    """compute(x) under the threaded scheduler or on the LocalCluster."""
    if request.param == "threads":
        def run(x):
            return x.compute(scheduler="threads", num_workers=2)
        return run
    cl = request.getfixturevalue("client")

    def run(x):
        return cl.compute(x).result()
    return run


# ------------------------------------------------------------------------------------------
# chunkings x schedulers

@pytest.mark.parametrize("chunks", list(CHUNKS2.values()), ids=list(CHUNKS2))
def test_2d_chunkings(compute, chunks):
    x = fd.normal(SHAPE2, 0.5, 2.0, chunks=chunks, rng=7)
    bits_equal(compute(x), fastinit.normal(SHAPE2, 0.5, 2.0, rng=7), f"chunks={chunks}")


@pytest.mark.parametrize("chunks", list(CHUNKS4.values()), ids=list(CHUNKS4))
def test_4d_chunkings(compute, chunks):
    x = fd.he_normal(SHAPE4, chunks=chunks, rng=11)
    bits_equal(compute(x), fastinit.he_normal(SHAPE4, rng=11), f"chunks={chunks}")


def test_chunks_are_the_requested_ones():
    x = fd.uniform(SHAPE2, chunks=CHUNKS2["irregular"], rng=0)
    assert x.chunks == CHUNKS2["irregular"]
    x = fd.uniform(SHAPE4, chunks=CHUNKS4["ones-axis2"], rng=0)
    assert x.chunks == CHUNKS4["ones-axis2"]
    assert x.npartitions == 3


# ------------------------------------------------------------------------------------------
# samplers and initializers x dtypes

DTYPES = ["float32", "float64", "float16", "bfloat16"]

CASES = {
    "random": ((SHAPE2,), {}),
    "uniform": ((SHAPE2, -0.3, 0.7), {}),
    "normal": ((SHAPE2, 0.5, 2.0), {}),
    "truncated_normal": ((SHAPE2, -0.25, 0.75, -1.0, 3.0), {}),
    "xavier_uniform": ((SHAPE4,), {"gain": 1.5}),
    "xavier_normal": ((SHAPE2,), {}),
    "he_uniform": ((SHAPE4,), {"mode": "fan_out"}),
    "kaiming_normal": ((SHAPE4,), {"a": 0.1}),
    "lecun_normal": ((SHAPE2,), {}),
    "selu_normal": ((SHAPE2,), {}),
    "variance_scaling": ((SHAPE4, 2.0, "fan_avg", "truncated_normal"), {"layout": "jax"}),
    "glorot_uniform": ((SHAPE4,), {"in_axis": -2, "out_axis": -1}),
    "orthogonal": ((SHAPE2,), {"gain": 2.0}),
    "delta_orthogonal": ((SHAPE4,), {}),
    "eye": ((SHAPE2,), {}),
    "dirac": (((6, 5, 3, 3),), {"groups": 2}),
    "sparse": ((SHAPE2, 0.3), {}),
    "constant": ((SHAPE2, 0.25), {}),
    "zeros": ((SHAPE4,), {}),
    "ones": ((SHAPE4,), {}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fname", list(CASES))
def test_every_function_threaded(fname, dtype):
    args, kw = CASES[fname]
    x = getattr(fd, fname)(*args, **kw, dtype=dtype, rng=5, chunks=3)
    want = getattr(fastinit, fname)(*args, **kw, dtype=dtype, rng=5)
    assert x.dtype == want.dtype
    bits_equal(x.compute(scheduler="threads"), want, f"{fname} {dtype}")


@pytest.mark.parametrize("fname", ["truncated_normal", "variance_scaling", "orthogonal",
                                   "delta_orthogonal", "sparse", "dirac"])
def test_initializers_distributed(client, fname):
    args, kw = CASES[fname]
    for dtype in ("float32", "bfloat16"):
        x = getattr(fd, fname)(*args, **kw, dtype=dtype, rng=9, chunks=irregular(args[0]))
        want = getattr(fastinit, fname)(*args, **kw, dtype=dtype, rng=9)
        bits_equal(client.compute(x).result(), want, f"{fname} {dtype}")


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("dist", ["normal", "uniform", "truncated_normal"])
def test_complex(dtype, dist):
    x = fd.variance_scaling(SHAPE2, 1.0, "fan_in", dist, dtype=dtype, rng=3, chunks=(5, 3))
    want = fastinit.variance_scaling(SHAPE2, 1.0, "fan_in", dist, dtype=dtype, rng=3)
    bits_equal(x.compute(), want, f"complex {dist}")


def test_constant_array_value(compute):
    value = np.linspace(-1, 1, 10)
    x = fd.constant(SHAPE2, value, chunks=CHUNKS2["irregular"], dtype="float16")
    bits_equal(compute(x), fastinit.constant(SHAPE2, value, dtype="float16"))
    col = np.arange(6.0).reshape(6, 1, 1, 1)
    x = fd.constant(SHAPE4, col, chunks=CHUNKS4["irregular"])
    bits_equal(compute(x), fastinit.constant(SHAPE4, col))


def test_threads_never_change_values():
    a = fd.normal(SHAPE2, chunks=(13, 10), rng=1, threads=2).compute()
    b = fd.normal(SHAPE2, chunks=(13, 10), rng=1, threads=1).compute()
    bits_equal(a, b)


def test_one_dim_and_scalar_shapes():
    bits_equal(fd.random(100, chunks=7, rng=4).compute(), fastinit.random(100, rng=4))
    bits_equal(fd.uniform((), rng=4).compute(), fastinit.uniform((), rng=4))


def test_large_tensor_chunks_and_operations():
    """A 2**22-element tensor in 8 chunks; dask operations see ordinary numpy chunks."""
    x = fd.truncated_normal((1024, 4096), chunks=(128, 4096), rng=2)
    want = fastinit.truncated_normal((1024, 4096), rng=2)
    bits_equal(x.compute(), want)
    assert float(x.sum().compute()) == pytest.approx(float(want.sum(dtype=np.float64)),
                                                     rel=1e-5)
    bits_equal(x[100:300, ::7].compute(), want[100:300, ::7])


def test_empty_tensor_warns_like_numpy_api():
    with pytest.warns(UserWarning, match="zero-element"):
        x = fd.he_normal((0, 4), rng=0)
    assert x.shape == (0, 4) and x.compute().shape == (0, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fd.zeros((3, 0), rng=0).compute().shape == (3, 0)


# ------------------------------------------------------------------------------------------
# storing without materialising

def test_to_zarr_round_trip(tmp_path, compute):
    zarr = pytest.importorskip("zarr")
    x = fd.xavier_uniform((40, 30), chunks=(16, 7), rng=12, dtype="float64")
    path = str(tmp_path / "w.zarr")
    store = x.to_zarr(path, compute=False, compressors=None)
    compute(store)
    got = zarr.open_array(path, mode="r")
    assert got.chunks == (16, 7)
    bits_equal(got[...], fastinit.xavier_uniform((40, 30), rng=12, dtype="float64"))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_to_npy_round_trip(tmp_path, compute, dtype):
    x = fd.normal(SHAPE4, chunks=CHUNKS4["irregular"], rng=21, dtype=dtype)
    path = tmp_path / "w.npy"
    compute(fd.to_npy(x, path, compute=False))
    got = np.load(path, mmap_mode="r")
    want = fastinit.normal(SHAPE4, rng=21, dtype=dtype)
    if dtype == "bfloat16":          # no .npy type code: stored as '<V2'
        got = got.view(want.dtype)
    bits_equal(np.asarray(got), want)


def test_to_npy_compute_now(tmp_path):
    path = tmp_path / "z.npy"
    fd.to_npy(fd.random((9, 9), chunks=4, rng=1), path)
    bits_equal(np.load(path), fastinit.random((9, 9), rng=1))
    with pytest.raises(TypeError, match="dask.array.Array"):
        fd.to_npy(np.zeros(3), path)


# ------------------------------------------------------------------------------------------
# graph: deterministic keys, pickling, lazy import

def test_keys_are_deterministic():
    a = fd.normal(SHAPE2, chunks=4, rng=3)
    b = fd.normal(SHAPE2, chunks=4, rng=3)
    assert a.name == b.name and a.name.startswith("normal-")
    assert set(a.__dask_keys__()[0]) == set(b.__dask_keys__()[0])
    assert fd.normal(SHAPE2, chunks=4, rng=4).name != a.name
    assert fd.normal(SHAPE2, chunks=5, rng=3).name != a.name
    assert fd.normal(SHAPE2, 0.0, 2.0, chunks=4, rng=3).name != a.name
    assert fd.normal(SHAPE2, chunks=4, rng=3, dtype="float64").name != a.name
    assert fd.uniform(SHAPE2, chunks=4, rng=3).name != a.name
    ss = np.random.SeedSequence(3)
    assert fd.normal(SHAPE2, chunks=4, rng=ss).name == a.name     # same stream as the int
    assert fd.normal(SHAPE2, chunks=4, name="w", seed=3).name != a.name
    # the same in another process
    code = ("import fastinit.dask as fd; print(fd.normal((13, 10), chunks=4, rng=3).name)")
    assert run_python(code).strip() == a.name


def test_graph_pickles():
    x = fd.he_uniform(SHAPE4, chunks=CHUNKS4["irregular"], rng=8)
    graph = dict(x.__dask_graph__())
    again = pickle.loads(pickle.dumps(graph))
    assert set(again) == set(graph)
    y = fd.orthogonal(SHAPE2, chunks=4, rng=8)
    pickle.loads(pickle.dumps(dict(y.__dask_graph__())))
    z = pickle.loads(pickle.dumps(x))
    bits_equal(z.compute(), fastinit.he_uniform(SHAPE4, rng=8))


def test_import_fastinit_does_not_import_dask():
    code = ("import sys, fastinit, fastinit.dask as fd; assert 'dask' not in sys.modules; "
            "fd.normal((3, 3), rng=0); assert 'dask' in sys.modules; print('ok')")
    assert run_python(code).strip() == "ok"


def test_rng_none_is_fixed_when_built():
    x = fd.normal(SHAPE2, chunks=4)
    bits_equal(x.compute(), x.compute())
    assert not np.array_equal(x.compute(), fd.normal(SHAPE2, chunks=4).compute())


def test_seed_sequence_rng():
    ss = np.random.SeedSequence(123, spawn_key=(4,))
    bits_equal(fd.uniform(SHAPE2, chunks=3, rng=ss).compute(), fastinit.uniform(SHAPE2, rng=ss))


# ------------------------------------------------------------------------------------------
# per-name seeding

def _model(names, seed=2024):
    return {n: fd.normal(SHAPE2, std=0.02, name=n, seed=seed, chunks=(5, 4)) for n in names}


def test_per_name_seeding_stable(compute):
    base = ["embed.weight", "layers.0.attn.weight", "layers.0.mlp.weight", "head.weight"]
    full = {k: compute(v) for k, v in _model(base).items()}
    grown = _model(["layers.1.attn.weight"] + base[:2] + ["layers.0.norm.weight"] + base[2:])
    shrunk = _model([base[3], base[0]])
    for k, v in list(grown.items()) + list(shrunk.items()):
        if k in full:
            bits_equal(compute(v), full[k], k)
            assert v.name == _model([k])[k].name
    for k, v in full.items():
        bits_equal(v, fastinit.normal(SHAPE2, std=0.02, rng=fastinit.seed_for(2024, k)), k)
    assert not np.array_equal(full[base[0]], full[base[1]])
    other = compute(_model([base[0]], seed=2025)[base[0]])
    assert not np.array_equal(other, full[base[0]])


# ------------------------------------------------------------------------------------------
# bad input

def test_generator_refused():
    g = np.random.default_rng(0)
    with pytest.raises(TypeError, match="Generator.*int.*SeedSequence|SeedSequence.*Generator"):
        fd.normal(SHAPE2, rng=g)
    with pytest.raises(TypeError, match="PCG64"):
        fd.normal(SHAPE2, rng=np.random.PCG64(0))
    assert g.bit_generator.state == np.random.default_rng(0).bit_generator.state


BAD = [
    (lambda: fd.normal(SHAPE2, rng=-1), ValueError, "rng"),
    (lambda: fd.normal(SHAPE2, rng=1.5), TypeError, "rng"),
    (lambda: fd.normal(SHAPE2, rng="0"), TypeError, "rng"),
    (lambda: fd.normal(SHAPE2, name="w"), TypeError, "seed"),
    (lambda: fd.normal(SHAPE2, seed=0), TypeError, "name"),
    (lambda: fd.normal(SHAPE2, name="w", seed=0, rng=1), TypeError, "not both"),
    (lambda: fd.normal(SHAPE2, name="w", seed=-1), ValueError, "seed"),
    (lambda: fd.normal(SHAPE2, name=3, seed=0), TypeError, "name"),
    (lambda: fd.normal(SHAPE2, std=-1.0, rng=0), ValueError, "std"),
    (lambda: fd.uniform(SHAPE2, 1.0, 0.0, rng=0), ValueError, "low"),
    (lambda: fd.normal(SHAPE2, dtype="int32", rng=0), TypeError, "dtype"),
    (lambda: fd.normal(SHAPE2, threads=0, rng=0), ValueError, "threads"),
    (lambda: fd.normal((3, -1), rng=0), ValueError, "shape"),
    (lambda: fd.normal("ab", rng=0), TypeError, "shape"),
    (lambda: fd.normal(rng=0), TypeError, "shape"),
    (lambda: fd.normal(None, rng=0), TypeError, "shape"),
    (lambda: fd.normal(SHAPE2, out=np.empty(SHAPE2), rng=0), TypeError, "out"),
    (lambda: fd.normal(SHAPE2, global_shape=SHAPE2, rng=0), TypeError, "global_shape"),
    (lambda: fd.normal(SHAPE2, index=(slice(0, 1),), rng=0), TypeError, "index"),
    (lambda: fd.normal(SHAPE2, chunks=((5, 5), (10,)), rng=0), ValueError, "chunks"),
    (lambda: fd.normal(SHAPE2, chunks=((13,),), rng=0), ValueError, "chunks"),
    (lambda: fd.normal(SHAPE2, chunks=0, rng=0), ValueError, "chunks"),
    (lambda: fd.normal(SHAPE2, chunks="lots", rng=0), ValueError, "chunks"),
    (lambda: fd.he_normal((5,), rng=0), ValueError, "fewer than 2 dimensions"),
    (lambda: fd.he_normal(SHAPE2, mode="fan_x", rng=0), ValueError, "fan_x"),
    (lambda: fd.orthogonal((5,), rng=0), ValueError, "2 or more dimensions"),
    (lambda: fd.orthogonal(SHAPE2, column_axis=2, rng=0), ValueError, "column_axis"),
    (lambda: fd.orthogonal(SHAPE2, dtype="complex64", rng=0), TypeError, "complex"),
    (lambda: fd.delta_orthogonal((2, 4, 3), rng=0), ValueError, "in channels"),
    (lambda: fd.sparse(SHAPE2, 1.5, rng=0), ValueError, "sparsity"),
    (lambda: fd.constant(SHAPE2, rng=0), TypeError, "value"),
    (lambda: fd.constant(SHAPE2, np.ones(3), rng=0), ValueError, "broadcast"),
    (lambda: fd.constant(SHAPE2, 1e5, dtype="float16"), ValueError, "overflows"),
]


@pytest.mark.parametrize("call,exc,match", BAD,
                         ids=[f"{i}-{e.__name__}-{m}" for i, (_, e, m) in enumerate(BAD)])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_every_public_function_is_wrapped():
    import inspect
    names = set(fastinit.__all__) - {"seed_for", "calculate_gain", "compute_fans",
                                     "get_num_threads", "set_num_threads", "simd_path",
                                     "simd_supported", "set_simd_path", "show_config",
                                     "fill_many", "FillSpec"}
    assert names <= set(fd.__all__)
    for n in names:
        base = inspect.signature(getattr(fastinit, n)).parameters
        mine = inspect.signature(getattr(fd, n)).parameters
        assert set(base) - {"out", "global_shape", "index"} <= set(mine), n
        assert {"chunks", "name", "seed"} <= set(mine), n


@pytest.mark.parametrize("chunks", [(5, 10, 3, 4), (2, 5, 3, 4), (1, 1, 3, 4), (6, 5, 1, 4),
                                    CHUNKS4["irregular"]])
def test_to_npy_write_paths(tmp_path, monkeypatch, chunks):
    """Chunks of long contiguous runs go through os.pwrite, others through the memory map:
    the file is the same."""
    monkeypatch.setattr(fd._NpyTarget, "_MIN_RUN", 17)
    x = fd.uniform(SHAPE4, chunks=chunks, rng=6, dtype="float64")
    fd.to_npy(x, tmp_path / "p.npy", scheduler="threads")
    bits_equal(np.load(tmp_path / "p.npy"), fastinit.uniform(SHAPE4, rng=6, dtype="float64"))
    t = fd._NpyTarget("unused", 0, np.dtype(np.float64), SHAPE4)
    runs = t._runs((slice(2, 4), slice(1, 3), slice(0, 3), slice(0, 4)))
    assert runs == ([(2 * 60 + 1 * 12) * 8, (3 * 60 + 1 * 12) * 8], 2 * 12 * 8)
    # 16-byte runs, below the (patched) minimum: the memory map
    assert t._runs((slice(0, 6), slice(0, 5), slice(0, 3), slice(0, 2))) is None
