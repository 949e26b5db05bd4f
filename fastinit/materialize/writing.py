"""`materialize`: a spec becomes a checkpoint on disk, step by step, all or nothing.

The steps, in order: check the arguments; plan and validate every tensor
(`fastinit.materialize.planning`); settle the files; check the output location and remove
stale temporaries (`fastinit.materialize.output`); with ``dry_run`` stop there. Otherwise
create the shard files (and, for a folder, the other files) under temporary names next to
the output, fill them (`fastinit.materialize.fill`), fsync them, and move them into place
without replacing anything unless ``force``. Any error, Ctrl-C or signal on the way removes
every temporary (`_Temporaries`).
"""

import math
import os
import shutil
import time
from dataclasses import dataclass, field

import numpy as np

from .._engine import resolve_threads
from . import atomic
from . import safetensors as st
from .fill import SLAB_BYTES, fill_shard
from .output import check_output, fsync_dir, lost_race, move_into
from .planning import lay_out, make_plan
from .progress import Progress, gb


@dataclass
class Result:
    """What `materialize` wrote.

    Attributes
    ----------
    path : str
        The output file or folder.
    files : list of str
        Every file written (shards, index, config.json), absolute paths.
    tensors : int
        Number of tensors.
    nbytes : int
        Bytes of tensor data (headers excluded).
    parameters : int
        Number of elements over all tensors.
    seconds : float
        Wall time of the write, fsync included.
    params : list of Param
        The validated plan: every tensor, in state_dict order.
    stale : list of str
        Temporaries of earlier, killed runs to the same output that were removed (with
        ``dry_run``: that would be removed).
    """
    path: str
    files: list = field(default_factory=list)
    tensors: int = 0
    nbytes: int = 0
    parameters: int = 0
    seconds: float = 0.0
    params: list = field(default_factory=list, repr=False)
    stale: list = field(default_factory=list)


def materialize(spec, out, *, dtype=None, seed=None, max_shard_size=None, overrides=None,
                force=False, threads=None, progress=False, slab_bytes=None, dry_run=False):
    """Write a randomly initialised checkpoint for `spec` to `out`, at disk speed.

    Parameters
    ----------
    spec : str, os.PathLike or dict
        A Hugging Face ``config.json`` (``model_type`` llama, mistral, qwen2 or gpt2; a
        folder holding one also works) or a fastinit tensor spec (``.json``, ``.yaml``/
        ``.yml``), or the parsed dict of either. The schema is in the documentation's
        ``fastinit materialize`` page (docs/materialize.md).
    out : str or os.PathLike
        A path ending in ``.safetensors`` writes one file. Anything else is a folder laid out
        like ``save_pretrained``: ``model.safetensors``, or shards
        ``model-0000k-of-0000N.safetensors`` and ``model.safetensors.index.json`` when the
        tensors exceed `max_shard_size`; plus ``config.json`` (with ``dtype`` and
        ``torch_dtype`` set) for a Hugging Face spec. Other files already in the folder (a
        tokenizer, ...) are kept.
    dtype : {'float32', 'bfloat16', 'float16', 'float64'}, optional
        Output dtype. Default: the config's ``dtype``/``torch_dtype`` for a Hugging Face spec,
        else float32; in a tensor spec a tensor's own ``dtype`` wins over this, which wins
        over the spec's top-level ``dtype``.
    seed : int, optional
        Model seed (default: the spec's ``seed``, else 0). Tensor ``name`` is filled from
        ``fastinit.seed_for(seed, name)``.
    max_shard_size : int or str, optional
        Largest shard, e.g. ``"5GB"`` (default, decimal units as in Hugging Face) or
        ``"2GiB"``; folder output only.
    overrides : dict or list, optional
        Replace the initializer of matching tensors: ``{pattern: init}``, or a list of
        ``"PATTERN=INIT"`` strings or ``(pattern, init)`` pairs. A pattern is an fnmatch
        glob on the full name (``"*.mlp.down_proj.weight"``), or ``"re:REGEX"`` (a full
        match). `init` is ``"normal(std=0.002)"``-style text or ``(name, params)``; it
        replaces the initializer and all its parameters. Later entries win; a pattern that
        matches nothing is an error.
    force : bool
        Replace existing output files. Without it, an existing output file (or, for a
        folder, any checkpoint file it would write or replace) is an error.
    threads : int, optional
        Fill threads (default: fastinit's). Never changes the values.
    progress : bool or callable, optional
        True: progress (tensors, bytes, rate, ETA) on stderr. A callable is called as
        ``progress(tensors_done, tensors_total, bytes_done, bytes_total)`` after each slab.
    slab_bytes : int, optional
        Bytes filled per mapped slab (default `SLAB_BYTES`, 64 MiB); bounds peak memory.
    dry_run : bool
        Make every check a real run makes (spec, arguments, output path, free space) and
        return what would be written; create, change or remove nothing.

    Returns
    -------
    Result
        Paths written (with `dry_run`: that would be written), tensor count, bytes, wall
        time, the plan.

    Raises
    ------
    SpecError
        Unknown architecture, malformed spec, missing fields, bad overrides or initializer
        parameters — raised before anything is created.
    FileExistsError
        The output exists and `force` is false.
    OSError
        Not enough free disk space (checked up front), or an I/O error while writing; every
        temporary file is removed and nothing is left under the final name.

    Examples
    --------
    >>> import fastinit.materialize as fm                           # doctest: +SKIP
    >>> fm.materialize("config.json", "llama-random", dtype="bfloat16")  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    _check_switches(force, dry_run, progress, slab_bytes)
    _, params, seed, meta, cfg = make_plan(spec, dtype, seed, overrides)
    threads = resolve_threads(threads)
    slab_bytes = SLAB_BYTES if slab_bytes is None else int(slab_bytes)
    if slab_bytes < 8:
        raise ValueError(f"slab_bytes must be at least 8, got {slab_bytes}")
    ck = lay_out(out, params, meta, cfg, max_shard_size)
    existing_dir, stale_tmp = check_output(ck, force, dry_run)
    if dry_run:
        return _result(ck, params, [ck.out] if ck.single else
                       [os.path.join(ck.out, x) for x in ck.names + list(ck.extra)],
                       t0, stale_tmp)
    tmp = _Temporaries(ck, existing_dir)
    bar = Progress(len(params), ck.nbytes, progress)
    written = _write(ck, tmp, existing_dir, force, seed, threads, slab_bytes, bar)
    result = _result(ck, params, written, t0, stale_tmp)
    bar.message(f"wrote {result.tensors} tensors, {gb(ck.nbytes)} in {result.seconds:.1f} s "
                f"({ck.nbytes / max(result.seconds, 1e-9) / 1e9:.2f} GB/s) to {ck.out}")
    return result


def _check_switches(force, dry_run, progress, slab_bytes):
    """Type checks of `materialize`'s flags, before the spec is read."""
    for name, value in (("force", force), ("dry_run", dry_run)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    if not (isinstance(progress, (bool, np.bool_)) or callable(progress)):
        raise TypeError(f"progress must be True, False or a callable, got {progress!r}")
    if slab_bytes is not None and (isinstance(slab_bytes, bool)
                                   or not isinstance(slab_bytes, (int, np.integer))):
        raise TypeError(f"slab_bytes must be an int, got {slab_bytes!r}")


def _result(ck, params, files, t0, stale_tmp):
    return Result(path=ck.out, files=files, tensors=len(params), nbytes=ck.nbytes,
                  parameters=sum(math.prod(p.shape) for p in params),
                  seconds=time.perf_counter() - t0, params=params,
                  stale=[x[0] for x in stale_tmp])


class _Temporaries:
    """This run's temporary names and what it has created under them, to remove on failure.

    A file output is written to a temporary file next to it; a folder output to a temporary
    folder next to it, or inside it when it exists (shards, index and config.json in it).
    `workdir` is None for a file output, and once the temporary folder is in place or gone.
    """

    def __init__(self, ck, existing_dir):
        out, parent = ck.out, os.path.dirname(ck.out)
        if ck.single:
            self.workdir = None
            self.paths = [os.path.join(parent, atomic.temp_name("." + ck.names[0]))]
        else:
            self.workdir = os.path.join(out, atomic.temp_name("")) if existing_dir else \
                os.path.join(parent, atomic.temp_name("." + os.path.basename(out)))
            self.paths = [os.path.join(self.workdir, name) for name in ck.names]
        self.files, self.created = [], []
        self.workdir_fd = None

    def make_workdir(self):
        if self.workdir is not None:
            os.mkdir(self.workdir)
            # held until the end: a later run sees that this temporary is in use
            self.workdir_fd = os.open(self.workdir, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            atomic.lock(self.workdir_fd)

    def remove(self):
        """Delete everything created (after an error or an interrupt)."""
        for f in self.files:
            f.close()
        for path in self.created:
            try:
                os.unlink(path)
            except OSError:
                pass
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def close(self):
        for f in self.files:
            f.close()
        if self.workdir_fd is not None:
            os.close(self.workdir_fd)


def _write(ck, tmp, existing_dir, force, seed, threads, slab_bytes, bar):
    """Write the checkpoint under the temporary names of `tmp`, sync it and move it into
    place; the paths written. On any error or interrupt every temporary is removed."""
    try:
        tmp.make_workdir()
        for s, (header, offsets, size), path in zip(ck.shards, ck.layouts, tmp.paths):
            f = st.ShardFile(path, header, size)
            tmp.created.append(path)
            tmp.files.append(f)
            fill_shard(f, s, offsets, seed, threads, slab_bytes, bar.add)
        bar.done()
        _write_extra(tmp, ck.extra)
        bar.message("syncing to disk")
        for f in tmp.files:
            f.sync()
        written = _commit(ck, tmp, existing_dir, force)
        if tmp.workdir is not None:
            os.rmdir(tmp.workdir)
            tmp.workdir = None
    except BaseException:
        tmp.remove()
        raise
    finally:
        tmp.close()
    return written


def _write_extra(tmp, extra):
    """The index and config.json, into the temporary folder."""
    for name, blob in extra.items():
        path = os.path.join(tmp.workdir, name)
        tmp.created.append(path)
        with open(path, "xb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())


def _commit(ck, tmp, existing_dir, force):
    """Into place, replacing nothing unless `force` (another run may have created the output
    since the checks: exactly one of them wins); the paths written."""
    out, parent = ck.out, os.path.dirname(ck.out)
    names, extra = ck.names, ck.extra
    if ck.single:
        if force:
            os.replace(tmp.paths[0], out)
        else:
            try:
                atomic.publish(tmp.paths[0], out)
            except FileExistsError:
                raise lost_race(out) from None
        written = [out]
        fsync_dir(parent)
    elif not existing_dir:
        fsync_dir(tmp.workdir)
        try:
            atomic.publish(tmp.workdir, out)
            tmp.workdir = None
            written = [os.path.join(out, x) for x in names + list(extra)]
        except FileExistsError:
            if not (force and os.path.isdir(out) and not os.path.islink(out)):
                raise lost_race(out) from None
            written = move_into(out, tmp.workdir, names, extra, force)
        fsync_dir(parent)
    else:
        written = move_into(out, tmp.workdir, names, extra, force)
    return written
