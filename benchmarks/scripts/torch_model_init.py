"""Construct and initialise a ~1B-parameter GPT-style torch model with and without fastinit.

A script, not part of the asv suite. Each measurement runs in a fresh subprocess (so the
allocator and page cache start the same way), alternating plain torch and
``fastinit.torch.patch()``; the median of the repeats is reported.

    .venv/bin/python benchmarks/scripts/torch_model_init.py                 # ~1.07B params, 3 repeats
    .venv/bin/python benchmarks/scripts/torch_model_init.py --layers 4 --repeats 1   # quick

What is timed, end to end: ``torch.manual_seed(0); model = GPT(...)`` -- allocation of every
parameter, page faults, and each module's reset_parameters (kaiming_uniform_ + bias uniform_
for the Linear layers, normal_ for the embedding, ones/zeros for LayerNorm) -- with the
model built inside ``with fastinit.torch.patch():`` for the fastinit variant (the patch's
install/uninstall time included). Then, on the built model (memory already touched), every
module's ``reset_parameters()`` is timed again, plain and under ``patch()`` (the fills alone),
and ``init_module``. The process CPU time (user + sys) of the construction is reported next to
the wall time: on a shared machine it is the steadier number.

A third child, the floor, builds the same model with every init writing zeros through torch's
``zero_``: what allocation and the first touch of 4 GiB of fresh pages cost when they are
faulted in page by page, as every init that writes through torch does. fastinit maps the fresh
pages of a large output ahead of its writes in bulk (``MADV_POPULATE_WRITE``, one call per
256 KiB instead of a fault per 4 KiB page), so ``patch()`` can end below that floor.
``--prewarm-gib`` shows how much of the first-touch cost is the hypervisor's (see its help).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, torch, torch.nn as nn
cfg = json.loads(sys.argv[1])

class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

class GPT(nn.Module):
    def __init__(self, vocab, d, layers):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(1024, d)
        self.blocks = nn.ModuleList(Block(d) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

torch.set_num_threads(cfg["threads"])
mode = cfg["mode"]
if cfg["prewarm_gib"]:
    # touch and free that much memory first, so that the kernel hands out pages the
    # hypervisor is already backing (see --prewarm-gib)
    import numpy as np
    np.ones(int(cfg["prewarm_gib"] * 2**30) // 8).sum()
if mode == "patch":
    import fastinit.torch as ft
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
torch.manual_seed(0)
if mode == "torch":
    model = GPT(cfg["vocab"], cfg["d"], cfg["layers"])
elif mode == "patch":
    with ft.patch():
        model = GPT(cfg["vocab"], cfg["d"], cfg["layers"])
elif mode == "floor":
    # the same allocations and first touches with no random numbers: every init writes zeros
    import torch.nn.init as init
    def zero(t, *a, **k):
        with torch.no_grad():
            return t.zero_()
    for name in ("kaiming_uniform_", "uniform_", "normal_", "ones_", "zeros_"):
        setattr(init, name, zero)
    model = GPT(cfg["vocab"], cfg["d"], cfg["layers"])
t1 = time.perf_counter()
r1 = resource.getrusage(resource.RUSAGE_SELF)
out = {"mode": mode, "construct_s": t1 - t0,
       "cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
       "params": sum(p.numel() for p in model.parameters())}

def reset_all():
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()

if mode == "floor":
    print(json.dumps(out))
    sys.exit()
# re-initialising the built model: the memory is already touched, only the fills are timed
t2 = time.perf_counter()
if mode == "torch":
    reset_all()
else:
    with ft.patch():
        reset_all()
out["reinit_s"] = time.perf_counter() - t2
if mode == "patch":
    t2 = time.perf_counter()
    ft.init_module(model, seed=0)
    out["init_module_s"] = time.perf_counter() - t2
out["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps(out))
"""


def run(cfg):
    env = dict(os.environ)
    res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True,
                         text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--prewarm-gib", type=float, default=0.0,
                    help="touch and free this much memory in the child before timing. In a VM "
                         "that hands free memory back to the hypervisor (free page reporting, "
                         "balloon), a fresh process's first touch of every page can cost a host "
                         "fault on top of the kernel's zeroing; a prewarm measures construction "
                         "as on a machine whose free memory is backed (bare metal). Both plain "
                         "torch and fastinit get it. Default 0: as the machine is.")
    a = ap.parse_args()
    base = dict(layers=a.layers, d=a.d, vocab=a.vocab, threads=a.threads,
                prewarm_gib=a.prewarm_gib)
    times = {"torch": [], "patch": [], "floor": []}
    cpu = {"torch": [], "patch": [], "floor": []}
    reinit = {"torch": [], "patch": []}
    extra = []
    params = None
    rss = []
    for r in range(a.repeats):
        for mode in ("torch", "patch", "floor"):
            out = run(dict(base, mode=mode))
            params = out["params"]
            times[mode].append(out["construct_s"])
            cpu[mode].append(out["cpu_s"])
            if mode == "floor":
                print(f"repeat {r}: floor  construct {out['construct_s']:.2f} s "
                      f"(cpu {out['cpu_s']:.2f} s)", flush=True)
                continue
            rss.append(out["peak_rss_gib"])
            reinit[mode].append(out["reinit_s"])
            if "init_module_s" in out:
                extra.append(out["init_module_s"])
            print(f"repeat {r}: {mode:6s} construct {out['construct_s']:.2f} s "
                  f"(cpu {out['cpu_s']:.2f} s), re-init {out['reinit_s']:.2f} s"
                  + (f", init_module {out['init_module_s']:.2f} s" if mode == "patch" else ""),
                  flush=True)
    mt, mp = statistics.median(times["torch"]), statistics.median(times["patch"])
    print(f"\nmodel: GPT-style, {a.layers} layers, d={a.d}, vocab={a.vocab}: "
          f"{params / 1e9:.3f}B parameters (float32, {params * 4 / 2**30:.1f} GiB)")
    print(f"threads: {a.threads}; cpu: {os.cpu_count()} cores; repeats: {a.repeats}; "
          f"peak RSS {max(rss):.1f} GiB; prewarm {a.prewarm_gib:g} GiB")
    print(f"plain torch construction      median {mt:.2f} s  {sorted(times['torch'])}")
    print(f"under fastinit.torch.patch()  median {mp:.2f} s  {sorted(times['patch'])}")
    print(f"speed-up (construction)       {mt / mp:.2f}x")
    mf = statistics.median(times["floor"])
    print(f"floor: the same model with every init writing zeros through torch (allocation + "
          f"first touch of every page, no random numbers): median {mf:.2f} s; torch "
          f"{mt - mf:+.2f} s from it, patch {mp - mf:+.2f} s")
    ct, cp = statistics.median(cpu["torch"]), statistics.median(cpu["patch"])
    print(f"process CPU time (user+sys)   torch {ct:.2f} s, patch {cp:.2f} s "
          f"(torch's fill is single-threaded, fastinit's uses every core)")
    rt, rp = statistics.median(reinit["torch"]), statistics.median(reinit["patch"])
    print(f"re-init of the built model (reset_parameters, memory touched): torch {rt:.2f} s, "
          f"patch {rp:.2f} s: {rt / rp:.2f}x")
    if extra:
        print(f"init_module on the built model median {statistics.median(extra):.2f} s")


if __name__ == "__main__":
    main()
