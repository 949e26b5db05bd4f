"""Construct torch models with and without fastinit: plain torch, ``patch()``, ``build()``, floor.

A script, not part of the asv suite. Each measurement runs in a fresh subprocess (so the
allocator and page cache start the same way); the variants of one model and dtype run side by
side, one after the other, in every repeat, and the range (min-max) and median are reported.

    .venv/bin/python benchmarks/scripts/torch_model_init.py                 # ~1.07B GPT, float32
    .venv/bin/python benchmarks/scripts/torch_model_init.py --models llama334m,gpt2-medium,gpt1b \
        --dtypes float32,bfloat16 --repeats 3                         # the docs/performance.md table

Models: ``gpt1b`` a GPT-style stack of torch modules (``--layers``/``--d``/``--vocab``; nn.Linear
kaiming_uniform_ + bias uniform_, nn.Embedding normal_, LayerNorm ones/zeros);
``llama334m`` transformers ``LlamaForCausalLM`` (hidden 1024, 21 layers, MLP 2816, vocab 32000:
335M parameters) and ``gpt2-medium`` transformers ``GPT2LMHeadModel`` (1024, 24 layers, 355M),
both from ``AutoModelForCausalLM.from_config(config, dtype=...)``. bfloat16 runs build in that
dtype (``torch.set_default_dtype`` for gpt1b, ``dtype=`` for transformers).

What is timed, end to end, after the imports (the model's module imported and one tiny model
built, so lazy imports are not counted): ``torch.manual_seed(0)`` and the construction --
allocation of every parameter, page faults, every init -- plain; inside
``with fastinit.torch.patch():``; as ``fastinit.torch.build(factory, ..., dtype=...)``.
The floor is what any construction must at least do for these values: one fresh allocation of
the model's bytes and one parallel ``fill_many`` of exactly the fills ``build()`` makes (taken
from an untimed build in a separate child), no module construction. Peak memory: the peak
resident set of the child minus its resident set just before construction, less the model's
bytes. The process CPU time (user + sys) is printed next to the wall time.

``--reinit`` (gpt1b) also times re-initialising the built model (``reset_parameters``, memory
already touched) plain and under ``patch()``, and ``init_module``; ``--zero-floor`` the model
built with every init writing zeros through torch (allocation and torch's page-by-page first
touch, no random numbers); ``--prewarm-gib`` (see its help).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, mmap, os, resource, sys, time
cfg = json.loads(sys.argv[1])
import numpy as np, torch, torch.nn as nn

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

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

dtype = getattr(torch, cfg["dtype"])
model_name = cfg["model"]
if model_name == "gpt1b":
    def make(small=False):
        prev = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            if small:
                return GPT(64, 16, 1)
            return GPT(cfg["vocab"], cfg["d"], cfg["layers"])
        finally:
            torch.set_default_dtype(prev)
    build_args = ((GPT, cfg["vocab"], cfg["d"], cfg["layers"]), {"dtype": dtype})
else:
    import transformers
    from transformers import AutoModelForCausalLM
    if model_name == "llama334m":
        conf = transformers.LlamaConfig(vocab_size=32000, hidden_size=1024,
                                        intermediate_size=2816, num_hidden_layers=21,
                                        num_attention_heads=16, num_key_value_heads=16)
        tiny = transformers.LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=1, num_attention_heads=2,
                                        num_key_value_heads=2)
    else:
        conf = transformers.GPT2Config(n_embd=1024, n_layer=24, n_head=16)
        tiny = transformers.GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=64)
    def make(small=False):
        return AutoModelForCausalLM.from_config(tiny if small else conf, dtype=dtype)
    build_args = ((AutoModelForCausalLM.from_config, conf), {"dtype": dtype})

torch.set_num_threads(cfg["threads"])
mode = cfg["mode"]
if cfg["prewarm_gib"]:
    # touch and free that much memory first, so that the kernel hands out pages the
    # hypervisor is already backing (see --prewarm-gib)
    np.ones(int(cfg["prewarm_gib"] * 2**30) // 8).sum()
import fastinit, fastinit.torch as ft
from fastinit import _core, _fill
make(small=True)                            # lazy imports and first-call costs, untimed

if mode == "plan":
    # the fills build() makes, for the floor child
    plans = []
    real_run = _fill.run
    def capture(ps, threads):
        plans.extend((p.sampler, p.code, list(p.params), [str(x) for x in p.state], p.n,
                      p.arr.dtype.str) for p in ps)
        return real_run(ps, threads)
    _fill.run = capture
    model = ft.build(*build_args[0], rng=0, **build_args[1])
    json.dump({"plans": plans, "bytes": sum(p.numel() * p.element_size()
                                            for p in model.parameters())},
              open(cfg["plan_file"], "w"))
    print(json.dumps({"mode": mode}))
    sys.exit()

if mode == "floor":
    plan = json.load(open(cfg["plan_file"]))
    sizes = [n * np.dtype(dt).itemsize for _, _, _, _, n, dt in plan["plans"]]
    r_before = rss()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    mm = mmap.mmap(-1, sum(sizes), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    items, off = [], 0
    for (sampler, code, params, state, n, dt), size in zip(plan["plans"], sizes):
        arr = np.frombuffer(mm, np.dtype(dt), n, off)
        items.append((sampler, code, tuple(params), tuple(int(x) for x in state), arr, None, 0))
        off += size
    _core.fill_many(items, fastinit.get_num_threads(), 1 << 24)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    nbytes = plan["bytes"]
else:
    r_before = rss()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    if mode == "torch":
        model = make()
    elif mode == "patch":
        with ft.patch():
            model = make()
    elif mode == "build":
        model = ft.build(*build_args[0], **build_args[1])
    elif mode == "zero":
        # every init writes zeros through torch: allocation and torch's page-by-page first
        # touch, no random numbers
        import torch.nn.init as init
        def zero(t, *a, **k):
            with torch.no_grad():
                return t.zero_()
        for name in ("kaiming_uniform_", "uniform_", "normal_", "ones_", "zeros_"):
            setattr(init, name, zero)
        model = make()
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
out = {"mode": mode, "construct_s": t1 - t0,
       "cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
       "bytes": nbytes,
       "extra_mib": (r1.ru_maxrss * 1024 - r_before - nbytes) / 2**20}
if mode != "floor":
    out["params"] = sum(p.numel() for p in model.parameters())

if cfg["reinit"] and mode in ("torch", "patch"):
    def reset_all():
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
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
print(json.dumps(out))
"""

MODES = ("torch", "patch", "build", "floor")


def run(cfg):
    # PYTHONSAFEPATH: the child imports the installed fastinit, also from the repository root
    res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONSAFEPATH="1"))
    if res.returncode != 0:
        raise RuntimeError(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def rng(xs, fmt="{:.2f}"):
    return f"{fmt.format(min(xs))}-{fmt.format(max(xs))}" if len(xs) > 1 else fmt.format(xs[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="gpt1b",
                    help="comma-separated: gpt1b, llama334m, gpt2-medium")
    ap.add_argument("--dtypes", default="float32", help="comma-separated: float32, bfloat16")
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reinit", action="store_true",
                    help="gpt1b: also time re-initialising the built model and init_module")
    ap.add_argument("--zero-floor", action="store_true",
                    help="also time the model built with every init writing zeros through "
                         "torch (torch's own page-by-page first touch; gpt1b)")
    ap.add_argument("--prewarm-gib", type=float, default=0.0,
                    help="touch and free this much memory in the child before timing. In a VM "
                         "that hands free memory back to the hypervisor (free page reporting, "
                         "balloon), a fresh process's first touch of every page can cost a host "
                         "fault on top of the kernel's zeroing; a prewarm measures construction "
                         "as on a machine whose free memory is backed (bare metal). Every "
                         "variant gets it. Default 0: as the machine is.")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.models.split(","):
            for dtype in a.dtypes.split(","):
                base = dict(model=model, dtype=dtype, layers=a.layers, d=a.d, vocab=a.vocab,
                            threads=a.threads, plan_file=os.path.join(tmp, "plan.json"),
                            reinit=a.reinit and model == "gpt1b", prewarm_gib=a.prewarm_gib)
                run(dict(base, mode="plan"))
                modes = MODES + (("zero",) if a.zero_floor else ())
                res = {m: [] for m in modes}
                for r in range(a.repeats):
                    for mode in modes:
                        out = run(dict(base, mode=mode))
                        res[mode].append(out)
                        extra = "".join(f", {k} {out[k]:.2f} s" for k in
                                        ("reinit_s", "init_module_s") if k in out)
                        print(f"{model} {dtype} repeat {r}: {mode:6s} {out['construct_s']:.2f} s "
                              f"(cpu {out['cpu_s']:.2f} s), peak extra "
                              f"{out['extra_mib']:.0f} MiB{extra}", flush=True)
                rows.append((model, dtype, res))
    print(f"\nthreads: {a.threads}; cpu: {os.cpu_count()} cores; repeats: {a.repeats}; "
          f"ranges min-max over the repeats, (median)")
    print("| model | dtype | params | plain torch | patch() | build() | floor | "
          "build speed-up vs torch | build / floor | build peak extra | CPU s torch / patch / "
          "build / floor |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for model, dtype, res in rows:
        t = {m: [o["construct_s"] for o in res[m]] for m in MODES}
        med = {m: statistics.median(t[m]) for m in MODES}
        sp = [x / y for x, y in zip(t["torch"], t["build"])]
        fl = [x / y for x, y in zip(t["build"], t["floor"])]
        params = res["torch"][0]["params"]
        ex = [o["extra_mib"] for o in res["build"]]
        print(f"| {model} | {dtype} | {params / 1e6:.0f}M | {rng(t['torch'])} s "
              f"({med['torch']:.2f}) | {rng(t['patch'])} s ({med['patch']:.2f}) | "
              f"{rng(t['build'])} s ({med['build']:.2f}) | {rng(t['floor'])} s "
              f"({med['floor']:.2f}) | {rng(sp, '{:.1f}')}x | {rng(fl)}x | "
              f"{rng(ex, '{:.0f}')} MiB | "
              + " / ".join(f"{statistics.median(o['cpu_s'] for o in res[m]):.2f}" for m in MODES)
              + " |")
    for model, dtype, res in rows:
        if res.get("zero"):
            z = [o["construct_s"] for o in res["zero"]]
            print(f"{model} {dtype}: every init writing zeros through torch {rng(z)} s "
                  f"(median {statistics.median(z):.2f})")
        if any("reinit_s" in o for o in res["torch"]):
            rt = statistics.median(o["reinit_s"] for o in res["torch"])
            rp = statistics.median(o["reinit_s"] for o in res["patch"])
            im = statistics.median(o["init_module_s"] for o in res["patch"])
            print(f"{model} {dtype}: re-init of the built model torch {rt:.2f} s, patch "
                  f"{rp:.2f} s ({rt / rp:.1f}x); init_module {im:.2f} s")


if __name__ == "__main__":
    main()
