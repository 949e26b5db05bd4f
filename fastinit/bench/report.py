"""The text of a report: the table of a `run`, its notes, and the table of a `sweep`."""

from .limit import LIMIT_METHODS, _run_limits
from .options import format_size


def _fmt_gbps(r):
    if r is None:
        return "-"
    if "gb_per_s" in r:
        v = r["gb_per_s"]
        return f"{v:.3g}" if v < 100 else f"{v:.0f}"
    return "n/a" if "unavailable" in r else "err"


def _fmt_ratio(x):
    if x is None:
        return "-"
    return f"{x:.2g}x" if x < 10 else f"{x:.0f}x"


def _render(rows, aligns):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        cells = [c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(r, widths, aligns)]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_table(report):
    """The human-readable table of a `run` report.

    Columns: the case (``(fresh)`` for ``shape=`` fills), throughput in GB/s of fastinit,
    each peer and the limit, the speed-up of fastinit over each peer (``x <peer>``) and
    fastinit's fraction of the limit. ``n/a``: the peer cannot do this case/dtype;
    ``err``: it failed (the notes say why).
    """
    cfg, m = report["config"], report["machine"]
    peers = cfg["peers"]
    index = {(r["case"], r["impl"], r["mode"]): r for r in report["results"]}
    header = (["case", "fastinit"] + peers + ["limit"] + [f"x {p}" for p in peers]
              + ["of limit"])
    rows = [header]
    for s in report["summary"]:
        case, mode = s["case"], s["mode"]
        label = case + (" (fresh)" if mode == "fresh" else "")
        rows.append([label, _fmt_gbps(index.get((case, "fastinit", mode)))]
                    + [_fmt_gbps(index.get((case, p, mode))) for p in peers]
                    + ["-" if s.get("limit_gb_per_s") is None
                       else f"{s['limit_gb_per_s']:.2f}"]
                    + [_fmt_ratio(s["speedup"].get(p)) for p in peers]
                    + ["-" if s["fraction_of_limit"] is None
                       else f"{100 * s['fraction_of_limit']:.0f}%"])
    title = (f"fastinit bench: {format_size(cfg['size_bytes'])} {cfg['dtype']} "
             f"({cfg['elements']:,} elements, shape {tuple(cfg['shape'])}), "
             f"{cfg['threads']} thread{'s' * (cfg['threads'] > 1)}, best of {cfg['repeat']}\n"
             f"machine: {m['cpu']}, {m['usable_cores']} usable cores, SIMD {m['simd_path']}; "
             f"fastinit {m['fastinit']}, numpy {m['numpy']}"
             + "".join(f", {p} {report['peers'][p]}" for p in peers if p not in
                       ("numpy", "numpy-mt")))
    notes = _limit_notes(report) + _notes(report)
    return (title + "\nthroughput in GB/s (1e9 bytes of the buffer per second); "
            "x <peer> = fastinit speed-up\n\n" + _render(rows, "<" + ">" * (len(header) - 1))
            + ("\n\n" + "\n".join(notes) if notes else ""))


def _limit_notes(report):
    """How the limit that the fractions use was found, and how much it varied."""
    out = []
    for mode, lim in _run_limits(report["results"]).items():
        label = "" if mode == "warm" else f" ({mode})"
        method = dict(LIMIT_METHODS).get(lim["method"], lim["method"])
        out.append(f"limit{label}: {lim['gb_per_s']:.2f} GB/s ({method}), "
                   f"the best of {lim['measurements']} measurements x "
                   f"{len(LIMIT_METHODS)} methods ({', '.join(d for _, d in LIMIT_METHODS)}); "
                   f"every sample {lim['spread'][0]:.2f}-{lim['spread'][1]:.2f} GB/s. "
                   f"Every 'of limit' uses it.")
    return out


def _notes(report):
    """What each peer ran (identical operations merged), then the n/a and error reasons."""
    ops, problems = {}, {}
    for r in report["results"]:
        if "op" in r and r["mode"] == "warm" and r["impl"] != "fastinit":
            cases = ops.setdefault(r["impl"], {}).setdefault(r["op"], [])
            case = "limit" if r["impl"] == "limit" else r["case"]
            if case not in cases:
                cases.append(case)
        for what in ("unavailable", "error"):
            if what in r:
                cases = problems.setdefault((r["impl"], what, r[what]), [])
                label = r["case"] + (" (fresh)" if r["mode"] == "fresh" else "")
                cases.append(label)
    out = []
    if ops:
        out.append("what each ran (warm rows; fresh rows allocate the same way):")
        for impl, by_op in ops.items():
            for k, (op, cases) in enumerate(by_op.items()):
                where = "" if cases == ["limit"] else f"  [{', '.join(cases)}]"
                out.append(f"  {impl if k == 0 else '':<10} {op}{where}")
    if problems:
        out.append("not measured:")
        n_rows = len({(r["case"], r["mode"]) for r in report["results"]
                      if r["case"] != "limit"})
        for (impl, what, why), cases in problems.items():
            which = "all cases" if len(cases) == n_rows else ", ".join(cases)
            out.append(f"  {impl:<10} {what if what == 'error' else 'n/a'}: {why}  [{which}]")
    missing = [p for p, v in report["peers"].items() if v == "not installed"]
    if missing and report["config"].get("peers_auto"):
        out.append("peers not installed: " + ", ".join(missing))
    return out


def format_sweep(result):
    """A table of a `sweep`: one row per case x implementation, one column per point (GB/s)."""
    kind, xs = result["sweep"], result["x"]
    cols = [format_size(x) if kind == "size" else f"{x}t" for x in xs]
    keys = []
    for r in result["points"][0]["results"]:
        k = (r["case"], r["impl"], r["mode"])
        if k not in keys:
            keys.append(k)
    rows = [["case", "impl"] + cols]
    for case, impl, mode in keys:
        row = [case + (" (fresh)" if mode == "fresh" else ""),
               "plain fill" if impl == "limit" else impl]
        for p in result["points"]:
            idx = {(r["case"], r["impl"], r["mode"]): r for r in p["results"]}
            row.append(_fmt_gbps(idx.get((case, impl, mode))))
        rows.append(row)
    cfg = result["points"][0]["config"]
    title = (f"fastinit bench --sweep {kind}: {cfg['dtype']}, GB/s "
             f"({'threads ' + str(cfg['threads']) if kind == 'size' else format_size(cfg['size_bytes'])})")
    return title + "\n\n" + _render(rows, "<<" + ">" * len(cols))
