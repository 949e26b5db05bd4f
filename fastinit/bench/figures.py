"""Figures of a report with matplotlib: bars per case for a `run`, lines for a `sweep`."""

import math

from .options import BenchError, format_size


def require_matplotlib():
    """Import matplotlib with the Agg backend, or raise BenchError saying how to install it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise BenchError(f"--plot needs matplotlib, which is not importable here ({exc}); "
                         f"install it with `pip install matplotlib` (or "
                         f"`pip install fastinit-weights[bench]`)") from None
    return plt


def plot(result, path):
    """Write a PNG of a `run` report (bars per case) or a `sweep` (lines, GB/s vs x).

    Parameters
    ----------
    result : dict
        From `run` or `sweep`.
    path : str or path-like
        Output file (any format matplotlib writes; ``.png`` is the intended one).

    Raises
    ------
    BenchError
        If matplotlib is not installed.
    """
    plt = require_matplotlib()
    if "sweep" in result:
        return _plot_sweep(plt, result, path)
    cfg = result["config"]
    impls = ["fastinit"] + cfg["peers"]
    index = {(r["case"], r["impl"], r["mode"]): r for r in result["results"]}
    groups = [(s["case"], s["mode"]) for s in result["summary"]]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(groups)), 4.5))
    width = 0.8 / len(impls)
    for j, impl in enumerate(impls):
        vals = [index.get((case, impl, mode), {}).get("gb_per_s", 0.0) or 0.0
                for case, mode in groups]
        ax.bar([i + (j - (len(impls) - 1) / 2) * width for i in range(len(groups))], vals,
               width, label=impl)
    for mode, style in (("warm", "--"), ("fresh", ":")):
        lim = index.get(("limit", "limit", mode), {}).get("gb_per_s")
        if lim:
            ax.axhline(lim, color="k", linestyle=style, linewidth=1,
                       label="limit" + (" (fresh)" if mode == "fresh" else ""))
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([c + ("\n(fresh)" if m == "fresh" else "") for c, m in groups],
                       rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("GB/s")
    ax.set_title(f"fastinit bench: {format_size(cfg['size_bytes'])} {cfg['dtype']}, "
                 f"{cfg['threads']} threads", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_sweep(plt, result, path):
    kind, xs = result["sweep"], result["x"]
    cfg = result["points"][0]["config"]
    cases = [c for c in cfg["cases"]]
    ncol = min(3, len(cases))
    nrow = math.ceil(len(cases) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    impls = ["fastinit"] + cfg["peers"] + ["limit"]
    modes = ["warm", "fresh"] if cfg["fresh"] else ["warm"]
    for ax, case in zip(axes.flat, cases):
        for impl in impls:
            for mode in modes:
                ys = []
                for p in result["points"]:
                    idx = {(r["case"], r["impl"], r["mode"]): r for r in p["results"]}
                    r = idx.get(("limit", "limit", mode) if impl == "limit" else
                                (case, impl, mode), {})
                    ys.append(r.get("gb_per_s", float("nan")))
                if all(math.isnan(y) for y in ys):
                    continue
                ax.plot(xs, ys, marker="o", ms=3,
                        linestyle="--" if impl == "limit" else ("-" if mode == "warm" else ":"),
                        label=impl + (" fresh" if mode == "fresh" else ""))
        ax.set_title(case, fontsize=9)
        ax.set_xscale("log", base=2)
        if kind == "size":
            ax.set_xticks(xs)
            ax.set_xticklabels([format_size(x).replace(" ", "") for x in xs], rotation=45,
                               fontsize=6)
            ax.set_xlabel("buffer size", fontsize=8)
        else:
            ax.set_xticks(xs)
            ax.set_xticklabels([str(x) for x in xs], fontsize=7)
            ax.set_xlabel("threads", fontsize=8)
        ax.set_ylabel("GB/s", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(cases):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=6)
    fig.suptitle(f"fastinit bench --sweep {kind} ({cfg['dtype']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
