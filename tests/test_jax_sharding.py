"""fastinit.jax with out_sharding on 8 host devices: equal to the unsharded fill, bit for bit.

The checks run in one subprocess because XLA_FLAGS=--xla_force_host_platform_device_count=8
must be set before JAX is imported (another test module may already have imported it here).
The subprocess reports every check as JSON; each test below asserts one group of them.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import fastinit

pytest.importorskip("jax")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Subprocesses import the fastinit this test run imported (installed, or a built source tree).
FASTINIT_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))

SCRIPT = textwrap.dedent(r'''
    import json, os, sys, warnings
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import numpy as np
    import jax, jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import fastinit, fastinit.jax as fj
    import fastinit.jax.running as fj_running

    assert jax.device_count() == 8, jax.devices()
    res = {"checks": 0, "failures": [], "groups": {}}
    records = []
    real_block = fj_running._block

    def spy(spec, call, gshape, dtype, index):
        out = real_block(spec, call, gshape, dtype, index)
        records.append((gshape, index, out.shape, out.nbytes))
        return out

    fj_running._block = spy            # where _run and _traced look it up

    def bits(a):
        a = np.asarray(a)
        return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])

    def check(group, ok, what):
        res["checks"] += 1
        res["groups"][group] = res["groups"].get(group, 0) + 1
        if not ok:
            res["failures"].append(f"{group}: {what}")

    def idx_key(index, shape):
        return tuple(s.indices(n) for s, n in zip(index, shape))

    KEY = jax.random.key(99)
    devs = np.array(jax.devices())
    MESHES = {
        "1d": jax.make_mesh((8,), ("x",)),
        "2x4": jax.make_mesh((2, 4), ("x", "y")),
        "4x2": jax.make_mesh((4, 2), ("x", "y")),
        "2x4auto": Mesh(devs.reshape(2, 4), ("x", "y")),
    }
    SPECS2 = {"1d": [P("x"), P(None, "x"), P("x", None), P()],
              "2x4": [P("x"), P(None, "y"), P("x", "y"), P("y", "x"), P(("x", "y")),
                      P(None, ("x", "y")), P()],
              "4x2": [P("x", "y"), P(("y", "x"), None), P(None, "x")],
              "2x4auto": [P("x", "y"), P("y")]}
    SPECS4 = {"1d": [P(None, None, None, "x"), P(None, None, "x")],
              "2x4": [P(None, None, "x", "y"), P(None, None, None, ("x", "y"))],
              "4x2": [P(None, None, "y", "x")],
              "2x4auto": [P(None, None, "y", "x")]}
    INITS = {
        "glorot_uniform": fj.glorot_uniform(), "he_normal": fj.he_normal(),
        "lecun_normal": fj.lecun_normal(), "normal": fj.normal(0.3),
        "uniform": fj.uniform(0.5), "truncated_normal": fj.truncated_normal(0.2),
        "vs_geo": fj.variance_scaling(0.7, "fan_geo_avg", "normal"),
        "vs_axes": fj.variance_scaling(1.0, "fan_out", "uniform", in_axis=0, out_axis=-1),
        "orthogonal": fj.orthogonal(1.3), "orthogonal_col0": fj.orthogonal(1.0, 0),
    }
    CONV = {"he_normal": fj.he_normal(), "delta_orthogonal": fj.delta_orthogonal(),
            "glorot_uniform": fj.glorot_uniform(), "orthogonal": fj.orthogonal()}

    def run(group, init, shape, dtype, sharding, **kw):
        full = init(KEY, shape, dtype, **kw)
        del records[:]
        a = init(KEY, shape, dtype, out_sharding=sharding, **kw)
        what = f"{shape} {np.dtype(dtype)} {sharding.spec} on {dict(sharding.mesh.shape)}"
        check(group, a.sharding.is_equivalent_to(sharding, len(shape)), "sharding " + what)
        check(group, np.array_equal(bits(a), bits(full)), "sharded != unsharded " + what)
        full_np = np.asarray(full)
        for s in a.addressable_shards:
            check(group, np.array_equal(bits(s.data), bits(full_np[s.index])),
                  f"shard {s.index} on {s.device} " + what)
        # each distinct shard index filled once, from its own index, at the shard's size
        want = {idx_key(i, shape) for i in sharding.devices_indices_map(shape).values()}
        got = [idx_key(r[1], shape) for r in records if r[1] is not None]
        check(group, all(r[1] is not None for r in records), "a full (unindexed) fill " + what)
        if group != "orthogonal":
            check(group, len(got) == len(set(got)) and set(got) == want,
                  f"fills {got} != shard indices {want} " + what)
            shard_bytes = int(np.prod(sharding.shard_shape(shape))) * np.dtype(dtype).itemsize
            check(group, all(r[3] == shard_bytes for r in records),
                  f"block sizes {[r[3] for r in records]} != {shard_bytes} " + what)
        return a

    for mname, mesh in MESHES.items():
        for spec in SPECS2[mname]:
            sh = NamedSharding(mesh, spec)
            for name, init in INITS.items():
                group = "orthogonal" if name.startswith("orthogonal") else "random"
                for dtype in (jnp.float32, jnp.bfloat16):
                    run(group, init, (16, 24), dtype, sh)
            run("complex", fj.normal(), (16, 24), jnp.complex64, sh)
            run("complex", fj.variance_scaling(1.0, "fan_in", "truncated_normal"), (16, 24),
                jnp.complex64, sh)
        for spec in SPECS4[mname]:
            sh = NamedSharding(mesh, spec)
            for name, init in CONV.items():
                run("orthogonal" if name == "orthogonal" else "conv", init, (3, 3, 16, 32),
                    jnp.float32, sh)

    # a 64 MiB tensor on a 2x4 mesh: 8 blocks of 8 MiB, none full size
    sh = NamedSharding(MESHES["2x4"], P("x", "y"))
    run("large", fj.he_normal(), (4096, 4096), jnp.float32, sh)
    check("large", max(r[3] for r in records) == 4096 * 4096 * 4 // 8, "block size")

    # replicated axes: 8 devices, 2 distinct indices -> 2 fills
    run("replicated", fj.he_uniform(), (16, 24), jnp.float32,
        NamedSharding(MESHES["2x4"], P("x")))
    check("replicated", len(records) == 2, f"{len(records)} fills for 2 distinct shards")

    # PartitionSpec under jax.set_mesh
    with jax.set_mesh(MESHES["2x4"]):
        a = fj.he_normal()(KEY, (16, 24), out_sharding=P("x", "y"))
    check("set_mesh", isinstance(a.sharding, NamedSharding) and a.sharding.spec == P("x", "y"),
          str(a.sharding))
    check("set_mesh", np.array_equal(bits(a), bits(fj.he_normal()(KEY, (16, 24)))), "values")

    # under jax.jit (traced key): host callback, then the sharding constraint
    for mname in ("2x4", "2x4auto"):
        mesh = MESHES[mname]
        sh = NamedSharding(mesh, P("x", "y"))
        with jax.set_mesh(mesh):
            f = jax.jit(lambda k: fj.glorot_uniform()(k, (16, 24), out_sharding=sh))
            a = f(KEY)
        check("jit", a.sharding.is_equivalent_to(sh, 2), f"{mname}: {a.sharding}")
        check("jit", np.array_equal(bits(a), bits(fj.glorot_uniform()(KEY, (16, 24)))),
              f"{mname}: values")

    # per-name stream + sharding == the NumPy engine's full fill
    ss = fastinit.seed_for(5, "decoder.mlp.kernel")
    a = fj.lecun_normal()(None, (64, 48), rng=ss,
                          out_sharding=NamedSharding(MESHES["2x4"], P("y", "x")))
    want = fastinit.variance_scaling((64, 48), 1.0, "fan_in", "truncated_normal",
                                     layout="jax", rng=ss)
    check("seed_for", np.array_equal(bits(a), bits(want)), "seed_for sharded vs numpy")

    # any jax.sharding.Sharding (JAX itself takes only NamedSharding / PartitionSpec)
    one = jax.sharding.SingleDeviceSharding(jax.devices()[3])
    a = fj.he_normal()(KEY, (16, 24), out_sharding=one)
    check("other", a.devices() == {jax.devices()[3]}, str(a.devices()))
    check("other", np.array_equal(bits(a), bits(fj.he_normal()(KEY, (16, 24)))), "values")

    # empty tensors and 0-d
    a = fj.orthogonal()(KEY, (0, 24), out_sharding=NamedSharding(MESHES["1d"], P(None, "x")))
    check("other", a.shape == (0, 24), str(a.shape))
    a = fj.normal()(KEY, (), out_sharding=NamedSharding(MESHES["1d"], P()))
    check("other", np.array_equal(bits(a), bits(fj.normal()(KEY, ()))), "0-d")

    print("RESULT" + json.dumps(res))
''')


@pytest.fixture(scope="module")
def report():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               PYTHONPATH=FASTINIT_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=900)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")]
    assert r.returncode == 0 and lines, r.stdout[-3000:] + r.stderr[-5000:]
    return json.loads(lines[-1][len("RESULT"):])


@pytest.mark.parametrize("group,minimum", [
    ("random", 3000), ("orthogonal", 700), ("complex", 400), ("conv", 200), ("large", 10),
    ("replicated", 10), ("set_mesh", 2), ("jit", 4), ("seed_for", 1), ("other", 4)])
def test_sharded_equals_unsharded(report, group, minimum):
    fails = [f for f in report["failures"] if f.startswith(group + ":")]
    assert not fails, "\n".join(fails[:20])
    assert report["groups"].get(group, 0) >= minimum, report["groups"]
