"""Figures of the performance page, drawn when the documentation is built.

The numbers come from ``docs/_data``: ``bench-1gib.json`` holds the table of one recorded
``fastinit bench`` run (its ``source`` says which); ``bench-sweep-size.json`` is the JSON
output of ``fastinit bench --sweep size ... --json`` and are drawn by ``fastinit.bench.plot``,
the function behind ``fastinit bench --plot``.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "_data")


def _load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


def speedups(outdir):
    """Bar chart: fastinit's speed-up over each peer, per case, and its share of the limit."""
    from fastinit.bench import require_matplotlib
    plt = require_matplotlib()
    table = _load("bench-1gib.json")
    cols, rows = table["columns"], table["rows"]
    cases = list(rows)
    peers = [c for c in cols if c not in ("fastinit", "limit")]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(peers)
    for j, peer in enumerate(peers):
        k = cols.index(peer)
        xs = [i + (j - (len(peers) - 1) / 2) * width for i in range(len(cases))]
        ax.bar(xs, [rows[c][0] / rows[c][k] for c in cases], width, label=f"x {peer}")
    ax.set_yscale("log")
    ax.axhline(1, color="k", linewidth=0.8)
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(cases, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("fastinit speed-up (log scale)")
    ax.set_title("speed-up over each peer, 1 GiB float32, 2 threads", fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(axis="y", alpha=0.3, which="both")
    lim = cols.index("limit")
    ax2.barh(cases[::-1], [rows[c][0] for c in cases[::-1]], label="fastinit")
    ax2.scatter([rows[c][lim] for c in cases[::-1]], range(len(cases)), color="k", marker="|",
                s=200, label="memory-bandwidth limit", zorder=3)
    ax2.set_xlabel("GB/s")
    ax2.set_title("throughput against the limit", fontsize=10)
    ax2.tick_params(axis="y", labelsize=8)
    ax2.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = os.path.join(outdir, "speedups.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def build(outdir):
    """Write every figure into `outdir` (made if missing); return their paths."""
    from fastinit.bench import plot
    os.makedirs(outdir, exist_ok=True)
    paths = [speedups(outdir)]
    paths.append(plot(_load("bench-sweep-size.json"), os.path.join(outdir, "sweep-size.png")))
    return paths
