"""Command line: ``python -m fastinit <command>`` (also installed as the ``fastinit`` script).

Commands
--------
bench
    Throughput of fastinit next to NumPy, PyTorch, JAX, mkl_random and the memory-bandwidth
    limit (see `fastinit.bench`). ``fastinit bench --help`` lists the options.
info
    How this fastinit was built (compiler, OpenMP and its runtime, SIMD paths) and how it
    runs here (SIMD path, default threads), as `fastinit.show_config` prints it, then the
    machine; ``--json`` for a machine-readable form.
"""

import argparse
import json
import sys

from ._pipe import run_cli

__all__ = ["main", "build_parser"]


def _size(text):
    from .bench import BenchError, parse_size
    try:
        return parse_size(text)
    except BenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(name, low=1):
    def convert(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be >= {low}, got {value}")
        return value
    return convert


def _positive_float(name):
    def convert(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{name} must be a positive number, got {text}")
        return value
    return convert


def _name_list(name, choices, specials=()):
    def convert(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        if len(items) == 1 and items[0] in specials:
            return items[0]
        aliases = {"mkl-random": "mkl_random", "numpy_mt": "numpy-mt",
                   "truncated-normal": "truncated_normal", "trunc_normal": "truncated_normal"}
        items = [aliases.get(t, t) for t in items]
        bad = [t for t in items if t not in choices]
        if bad or not items:
            extra = f", or one of {', '.join(specials)}" if specials else ""
            raise argparse.ArgumentTypeError(
                f"unknown {name} {', '.join(bad) or '(empty)'}; expected a comma list of "
                f"{', '.join(choices)}{extra}")
        return items
    return convert


def build_parser():
    """The argparse parser of the ``fastinit`` command line."""
    from . import __version__
    from .bench import CASES, DTYPES, PEERS

    parser = argparse.ArgumentParser(
        prog="fastinit", description="fastinit: parallel, reproducible weight initialization.")
    parser.add_argument("--version", action="version", version=f"fastinit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")

    b = sub.add_parser(
        "bench", help="throughput vs NumPy, PyTorch, JAX and the memory-bandwidth limit",
        description="Fill one warm buffer with every case, with fastinit and with each "
                    "installed peer, and print GB/s, fastinit's speed-up over each peer and "
                    "its fraction of the memory-bandwidth limit (a plain parallel fill of "
                    "the same buffer). Progress goes to stderr.")
    b.add_argument("--size", type=_size, default="1GiB",
                   help="buffer size: 1GiB, 256MiB, 64KiB, 1e9 (bytes), 4KB (1000s) ... "
                        "(default: 1GiB)")
    b.add_argument("--dtype", choices=DTYPES, default="float32", help="output dtype (default: float32)")
    b.add_argument("--threads", type=_positive_int("--threads"), default=None,
                   help="threads for fastinit, the NumPy recipe, PyTorch and the limit "
                        "(default: fastinit.get_num_threads())")
    b.add_argument("--peers", type=_name_list("peer", PEERS, ("auto", "all", "none")),
                   default="auto",
                   help=f"comma list of {', '.join(PEERS)}; 'auto' = those installed "
                        f"(default), 'all', or 'none' = fastinit and the limit only")
    b.add_argument("--cases", type=_name_list("case", CASES), default=None,
                   help=f"comma list of {', '.join(CASES)} (default: all)")
    b.add_argument("--repeat", type=_positive_int("--repeat"), default=3,
                   help="timed calls per measurement; the best is reported (default: 3)")
    b.add_argument("--warmup", type=_positive_int("--warmup", 0), default=1,
                   help="untimed calls first (JAX compiles in the first); a warm-up call "
                        "of 1 s or more is kept as a timed sample (default: 1)")
    b.add_argument("--max-time", type=_positive_float("--max-time"), default=10.0,
                   help="seconds per measurement after which no further repeat starts "
                        "(default: 10)")
    b.add_argument("--fresh", action="store_true",
                   help="also time fills that allocate their result (shape=, first touch)")
    b.add_argument("--sweep", choices=("size", "threads"), default=None,
                   help="repeat the run for sizes 4KiB, 16KiB, ... up to --size, or threads "
                        "1, 2, 4, ... up to --threads")
    b.add_argument("--json", action="store_true",
                   help="print the results as JSON on stdout instead of the table")
    b.add_argument("--plot", metavar="FILE.png", default=None,
                   help="also write a plot (bars; lines vs size/threads with --sweep); "
                        "needs matplotlib")
    b.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    b.set_defaults(subparser=b)

    i = sub.add_parser("info", help="build configuration (compiler, OpenMP, SIMD paths) "
                                    "and thread defaults",
                       description="Print fastinit.show_config() and a description of this "
                                   "machine.")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    # parsed by fastinit.materialize itself (see main); listed here for --help
    sub.add_parser("materialize", add_help=False,
                   help="write a randomly initialised checkpoint (safetensors) from a Hugging "
                        "Face config.json or a tensor spec; 'fastinit materialize -h' for options")
    return parser


def _bench(args, parser):
    from . import bench

    if args.plot is not None:
        try:
            bench.require_matplotlib()
        except bench.BenchError as exc:
            parser.error(str(exc))
    progress = None if args.quiet else sys.stderr
    options = dict(dtype=args.dtype, peers=args.peers, cases=args.cases, repeat=args.repeat,
                   warmup=args.warmup, max_time=args.max_time, fresh=args.fresh)
    try:
        if args.sweep:
            result = bench.sweep(args.sweep, size=args.size, threads=args.threads,
                                 progress=progress, **options)
        else:
            result = bench.run(size=args.size, threads=args.threads, progress=progress,
                               **options)
    except bench.BenchError as exc:
        parser.error(str(exc))
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(bench.format_sweep(result) if args.sweep else bench.format_table(result))
    if args.plot is not None:
        bench.plot(result, args.plot)
        if progress is not None:
            print(f"plot written to {args.plot}", file=progress)
    return 0


def _info(args):
    from . import show_config
    from .bench import machine_info
    if args.json:
        cfg = show_config(mode="dicts")
        cfg["machine"] = machine_info()
        json.dump(cfg, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    show_config()
    print("machine:")
    for key, value in machine_info().items():
        print(f"  {key:<16}: {value}")
    return 0


def main(argv=None):
    """Run the command line with `argv` (default ``sys.argv[1:]``); returns the exit code.

    Bad options exit with status 2 and a message naming the option (argparse's convention).
    Output into a pipe whose reader has gone (``| head``) ends the command quietly with
    status 141.
    """
    return run_cli(_main, argv)


def _main(argv):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["materialize"]:
        from .materialize import main as materialize_main
        return materialize_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "bench":
        try:
            return _bench(args, args.subparser)
        except KeyboardInterrupt:
            print("fastinit bench: interrupted", file=sys.stderr)
            return 130
    if args.command == "info":
        return _info(args)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
