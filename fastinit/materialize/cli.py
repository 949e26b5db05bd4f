"""``fastinit materialize SPEC -o OUT [options]``: the command line of `materialize`.

`main` parses the options, runs `fastinit.materialize.materialize` (with ``--dry-run``: prints
the plan, a tensor a line) and turns its errors into exit statuses; SIGTERM and SIGHUP end a
run as Ctrl-C does, temporaries removed.
"""

import argparse
import math
import signal
import sys

from .._pipe import run_cli
from . import safetensors as st
from .progress import gb
from .spec import DTYPES, SpecError
from .writing import materialize


def _parser():
    ap = argparse.ArgumentParser(
        prog="fastinit materialize",
        description="Write a randomly initialised checkpoint (safetensors) for a Hugging Face "
                    "config.json (llama, mistral, qwen2, gpt2) or a fastinit tensor spec "
                    "(JSON/YAML), filling tensors in place on disk in parallel.",
        epilog="Example: fastinit materialize config.json -o llama-random --dtype bfloat16 "
               "--override '*.down_proj.weight=normal(std=0.002)'")
    ap.add_argument("spec", metavar="SPEC",
                    help="config.json (or a folder with one), or a tensor spec .json/.yaml")
    ap.add_argument("-o", "--output", required=True, metavar="OUT",
                    help="OUT.safetensors for one file, else a folder (sharded like "
                         "save_pretrained, with config.json)")
    ap.add_argument("--max-shard-size", metavar="SIZE", default=None,
                    help="largest shard, e.g. 5GB (default), 500MB, 2GiB (folder output)")
    ap.add_argument("--dtype", choices=DTYPES, default=None,
                    help="output dtype (default: the config's dtype, else float32)")
    ap.add_argument("--seed", type=int, default=None,
                    help="model seed (default: the spec's seed, else 0)")
    ap.add_argument("--override", action="append", default=[], metavar="PATTERN=INIT",
                    help="initializer for tensors matching PATTERN (fnmatch glob, or "
                         "re:REGEX), e.g. '*.norm.weight=ones' or "
                         "'re:.*\\.(q|k)_proj\\.weight=normal(std=0.01)'; repeatable, later "
                         "ones win")
    ap.add_argument("--force", action="store_true", help="replace existing output files")
    ap.add_argument("--threads", type=int, default=None, help="fill threads (default: all)")
    ap.add_argument("--dry-run", action="store_true",
                    help="make every check of a real run (spec, options, output, free "
                         "space) and print the tensors; write nothing")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return ap


def _print_plan(params, stream):
    total = 0
    for p in params:
        nb = math.prod(p.shape) * st.itemsize(p.dtype)
        total += nb
        args = ", ".join(f"{k}={v!r}" for k, v in p.params.items())
        pad = f" pad_rows={list(p.zero_rows)}" if p.zero_rows else ""
        stream.write(f"{p.name}\t{list(p.shape)}\t{p.dtype}\t{p.init}({args}){pad}\n")
    stream.write(f"# {len(params)} tensors, {sum(math.prod(p.shape) for p in params)} "
                 f"parameters, {gb(total)}\n")


def main(argv=None):
    """Command-line entry: ``fastinit materialize SPEC -o OUT [options]``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``materialize`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 1 error (message on stderr, nothing written),
        130 interrupted (temporary files removed), 141 output pipe closed by its reader
        (``--dry-run | head``; quietly, temporary files removed). Usage errors exit 2 via
        argparse.
    """
    return run_cli(_main, argv)


def _main(argv):
    args = _parser().parse_args(argv)
    prog = "fastinit materialize"
    if args.dry_run:
        # every check of a real run (threads, shard size, output, free space), no writing
        try:
            res = materialize(args.spec, args.output, dtype=args.dtype, seed=args.seed,
                              max_shard_size=args.max_shard_size, overrides=args.override,
                              force=args.force, threads=args.threads, dry_run=True)
        except BrokenPipeError:
            raise
        except (SpecError, OSError, TypeError, ValueError) as e:
            sys.stderr.write(f"{prog}: error: {e}\n")
            return 1
        _print_plan(res.params, sys.stdout)
        return 0
    # SIGTERM (kill, a job scheduler) and SIGHUP (the terminal closed) end the run like
    # Ctrl-C: temporaries removed. SIGKILL cannot be caught: the next run to the same
    # output removes what it left.
    old_handlers = {}

    def _stop(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        # an ignored signal stays ignored (`nohup fastinit materialize ...`)
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) != signal.SIG_IGN:
            try:
                old_handlers[name] = signal.signal(getattr(signal, name), _stop)
            except ValueError:          # not the main thread
                pass
    try:
        materialize(args.spec, args.output, dtype=args.dtype, seed=args.seed,
                    max_shard_size=args.max_shard_size, overrides=args.override,
                    force=args.force, threads=args.threads, progress=not args.quiet)
    except KeyboardInterrupt:
        try:        # after SIGHUP the terminal may be gone
            sys.stderr.write(f"\n{prog}: interrupted; temporary files removed, nothing "
                             f"written\n")
        except OSError:
            pass
        return 130
    except BrokenPipeError:             # progress into a closed pipe: run_cli ends quietly
        raise
    except (SpecError, OSError, TypeError, ValueError) as e:
        sys.stderr.write(f"{prog}: error: {e}\n")
        return 1
    finally:
        for name, handler in old_handlers.items():
            signal.signal(getattr(signal, name), handler)
    return 0
