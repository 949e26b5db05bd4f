"""fastinit.torch on torch.distributed (gloo, CPU): DTensor shards and FSDP2 equal the
single-process result bit for bit, with 2 and 4 processes on this machine (127.0.0.1 only).

One spawn per world size runs every check; rank 0 saves the gathered tensors and the test
compares them with single-process fills made here.
"""

import os
import socket
import time
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.nn as nn  # noqa: E402

import fastinit.torch as ft  # noqa: E402
import fastinit.torch.distributed as ft_distributed  # noqa: E402

pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="torch.distributed with gloo is not available")

# (function, global shape, args); odd sizes so 2 and 4 ranks shard unevenly
CASES = [
    ("uniform_", (7, 5), (-1.0, 2.0)),
    ("normal_", (9, 6), (0.5, 2.0)),
    ("trunc_normal_", (5, 7), (0.0, 1.0, -1.0, 2.0)),
    ("xavier_uniform_", (6, 9), ()),
    ("kaiming_normal_", (11, 3), ()),
    ("orthogonal_", (7, 5), ()),
    ("sparse_", (9, 5), (0.3,)),
    ("eye_", (7, 5), ()),
    ("dirac_", (5, 3, 3), ()),
]
SEED = 3
MODEL_SEED = 11


class TinyLM(nn.Module):
    def __init__(self, extra=False):
        super().__init__()
        self.emb = nn.Embedding(37, 16, padding_idx=0)
        if extra:
            self.adapter = nn.Linear(16, 16)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(16, 2, 24, dropout=0.0, batch_first=True)
            for _ in range(2))
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 37, bias=False)


def _call(name, t, args, rng):
    if name in ("eye_", "dirac_"):
        return getattr(ft, name)(t, *args)
    return getattr(ft, name)(t, *args, rng=rng)


def _placements_1d():
    from torch.distributed.tensor import Replicate, Shard
    return {"S0": [Shard(0)], "S1": [Shard(1)], "R": [Replicate()]}


def _placements_2d():
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.placement_types import _StridedShard
    return {"S0S1": [Shard(0), Shard(1)], "S1S0": [Shard(1), Shard(0)],
            "S0S0": [Shard(0), Shard(0)], "RS1": [Replicate(), Shard(1)],
            "S0SS0": [Shard(0), _StridedShard(0, split_factor=2)]}


def _checks(rank, world):
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor import DTensor, distribute_tensor, init_device_mesh

    out = {}
    mesh = init_device_mesh("cpu", (world,))
    for pname, pl in _placements_1d().items():
        for name, shape, args in CASES:
            dt = distribute_tensor(torch.full(shape, float("nan")), mesh, pl)
            _call(name, dt, args, SEED)
            out["1d", pname, name] = dt.full_tensor()
        dt = distribute_tensor(torch.zeros(9, 7, dtype=torch.bfloat16), mesh, pl)
        ft.kaiming_uniform_(dt, rng=SEED)
        out["1d", pname, "bf16"] = dt.full_tensor()
        # a numpy Generator is consumed as a single-process fill of the whole tensor would
        g = np.random.default_rng(SEED)
        a = distribute_tensor(torch.zeros(7, 5), mesh, pl)
        b = distribute_tensor(torch.zeros(5, 7, dtype=torch.float64), mesh, pl)
        ft.normal_(a, rng=g)
        ft.uniform_(b, rng=g)
        out["1d", pname, "gen"] = (a.full_tensor(), b.full_tensor(), g.random())
    if world == 4:
        mesh2 = init_device_mesh("cpu", (2, 2))
        for pname, pl in _placements_2d().items():
            shape = (8, 7) if pname == "S0SS0" else (9, 7)     # _StridedShard: even sizes
            dt = distribute_tensor(torch.full(shape, float("nan")), mesh2, pl)
            ft.xavier_normal_(dt, rng=SEED)
            out["2d", pname] = (dt.full_tensor(), [type(p).__name__ for p in dt.placements])
            out["2d", pname, "blocks"] = len(ft.shard_block(dt)[1])
    # FSDP2: meta-device construction, fully_shard, to_empty, init_module
    for extra in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.device("meta"):
                model = TinyLM(extra)
        for layer in model.layers:
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        assert isinstance(model.head.weight, DTensor)
        model.to_empty(device="cpu")
        ft.init_module(model, seed=MODEL_SEED)
        sd = {k: (v.full_tensor() if isinstance(v, DTensor) else v.clone())
              for k, v in model.state_dict().items()}
        out["fsdp", extra] = sd
    # without a seed: every rank runs torch.manual_seed(5), as DTensor requires
    with torch.device("meta"):
        model = TinyLM()
    fully_shard(model, mesh=mesh)
    model.to_empty(device="cpu")
    torch.manual_seed(5)
    ft.init_module(model)
    out["fsdp", "torch_seed"] = {k: v.full_tensor() for k, v in model.state_dict().items()}
    return out


def _worker(rank, world, port, outdir):
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        res = _checks(rank, world)
        dist.barrier()
        if rank == 0:
            torch.save(res, os.path.join(outdir, "results.pt"))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(world, outdir, timeout=240):
    import torch.multiprocessing as mp
    ctx = mp.start_processes(_worker, args=(world, _free_port(), str(outdir)), nprocs=world,
                             join=False, start_method="spawn")
    deadline = time.monotonic() + timeout
    try:
        while not ctx.join(timeout=1):
            if time.monotonic() > deadline:
                raise TimeoutError(f"distributed workers did not finish in {timeout} s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
    return torch.load(os.path.join(outdir, "results.pt"), weights_only=False)


def _same(a, b):
    it = {2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    return (a.shape == b.shape and a.dtype == b.dtype
            and torch.equal(a.contiguous().view(it), b.contiguous().view(it)))


@pytest.mark.parametrize("world", [2, 4])
def test_dtensor_and_fsdp2_equal_single_process(world, tmp_path):
    res = _spawn(world, tmp_path)
    # DTensor Shard(0) / Shard(1) / Replicate on a 1-D mesh, every function
    for pname in ("S0", "S1", "R"):
        for name, shape, args in CASES:
            ref = _call(name, torch.empty(shape), args, SEED)
            assert _same(res["1d", pname, name], ref), (pname, name)
        ref = ft.kaiming_uniform_(torch.empty(9, 7, dtype=torch.bfloat16), rng=SEED)
        assert _same(res["1d", pname, "bf16"], ref), pname
        g = np.random.default_rng(SEED)
        a = ft.normal_(torch.empty(7, 5), rng=g)
        b = ft.uniform_(torch.empty(5, 7, dtype=torch.float64), rng=g)
        ga, gb, next_draw = res["1d", pname, "gen"]
        assert _same(ga, a) and _same(gb, b) and next_draw == g.random(), pname
    if world == 4:
        for pname in _placements_2d():
            full, placements = res["2d", pname]
            ref = ft.xavier_normal_(torch.empty(full.shape), rng=SEED)
            assert _same(full, ref), (pname, placements)
        assert "_StridedShard" in "".join(res["2d", "S0SS0"][1])
        assert res["2d", "S0SS0", "blocks"] > 1          # a non-contiguous local shard
    # FSDP2: gathered state dict == single-process init_module, bit for bit
    for extra in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            single = ft.init_module(TinyLM(extra), seed=MODEL_SEED).state_dict()
        got = res["fsdp", extra]
        assert set(got) == set(single)
        for k in single:
            assert _same(got[k], single[k]), (extra, k)
    # per-name seeding: adding a parameter changes nothing else, sharded or not
    plain, more = res["fsdp", False], res["fsdp", True]
    assert set(more) - set(plain) == {"adapter.weight", "adapter.bias"}
    assert all(_same(plain[k], more[k]) for k in plain)
    assert torch.equal(plain["emb.weight"][0], torch.zeros(16))     # padding_idx, sharded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = TinyLM()
    torch.manual_seed(5)
    single = ft.init_module(m).state_dict()
    assert all(_same(res["fsdp", "torch_seed"][k], single[k]) for k in single)


def test_shard_block_of_plain_tensor():
    shape, blocks = ft.shard_block(torch.empty(3, 4))
    assert shape == (3, 4) and blocks == [((slice(0, 3), slice(0, 4)),) * 2]


def test_runs_split_index_arrays():
    assert ft_distributed._runs(np.array([0, 1, 2, 5, 6, 9])) == [(0, 3, 0), (3, 5, 5), (5, 6, 9)]
    assert ft_distributed._runs(np.array([], dtype=np.int64)) == [(0, 0, 0)]


def test_per_name_stream_is_the_documented_derivation():
    """init_module's stream for a parameter is SeedSequence(seed, spawn_key=name_key(name))."""
    import fastinit
    from fastinit.seeding import name_key
    m = ft.init_module(nn.Embedding(5, 4), seed=MODEL_SEED)
    ss = np.random.SeedSequence(MODEL_SEED, spawn_key=name_key("weight"))
    assert np.array_equal(m.weight.detach().numpy(), fastinit.normal((5, 4), rng=ss))
