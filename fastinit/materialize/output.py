"""The output location: what may be replaced, before writing; moving files into place, after.

`check_output` makes the checks on the output that come before anything is created (the
parent folder, what exists and may not be replaced, free space) and removes the temporaries
that killed runs to the same output left. `move_into` and `lost_race` serve the commit:
files go into place without replacing anything unless asked to, so that of two runs to one
output exactly one wins (`fastinit.materialize.atomic`).
"""

import os
import re
import shutil
import sys

from . import atomic
from .progress import gb

_STALE = re.compile(r"model(-\d{5}-of-\d{5})?\.safetensors|model\.safetensors\.index\.json")


def check_output(ck, force, dry_run):
    """Check where the `Checkpoint` `ck` goes and what it may replace; remove (with `dry_run`:
    list) stale temporaries. Returns (whether `ck.out` is an existing folder, the stale
    temporaries as ``(path, size, pid)``)."""
    out, single, names, extra, layouts = ck.out, ck.single, ck.names, ck.extra, ck.layouts
    parent = os.path.dirname(out)
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise NotADirectoryError(f"{parent!r} is not a directory")
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"output directory {parent!r} does not exist")
    if not single and os.path.lexists(out) and not os.path.isdir(out):
        raise FileExistsError(f"{out!r} exists and is not a folder")
    # temporaries of earlier runs to this output that were killed (SIGKILL, power loss)
    stale_tmp = atomic.stale_temporaries(parent, "." + os.path.basename(out),
                                         remove=not dry_run)
    if not single and os.path.isdir(out):
        stale_tmp += atomic.stale_temporaries(out, "", remove=not dry_run)
    for path, size, pid in stale_tmp:
        sys.stderr.write(f"fastinit materialize: {'would remove' if dry_run else 'removed'} "
                         f"stale temporary {path} ({gb(size)}), left by process {pid} "
                         f"which is no longer running\n")
    existing_dir = False
    if single:
        if os.path.lexists(out) and not force:
            raise FileExistsError(f"{out!r} exists; pass force=True (--force) to replace it")
    elif os.path.isdir(out):
        existing_dir = True
        clash = _clash(out, names, extra)[0]
        if clash and not force:
            raise FileExistsError(f"{out!r} already holds {', '.join(clash)}; pass "
                                  f"force=True (--force) to replace the checkpoint")
    need = sum(size for _, _, size in layouts) + sum(len(b) for b in extra.values())
    free = shutil.disk_usage(out if existing_dir else parent).free
    if need > free:
        raise OSError(28, f"not enough disk space: the checkpoint needs {gb(need)}, "
                          f"{gb(free)} free on {parent!r}")
    return existing_dir, stale_tmp


def _clash(out, names, extra):
    """(files of `out` the new checkpoint would replace or remove, old checkpoint files
    that are not replaced)."""
    present = set(os.listdir(out))
    targets = set(names) | set(extra)
    stale = sorted(f for f in present if _STALE.fullmatch(f) and f not in targets)
    return sorted((present & targets) | set(stale)), stale


def lost_race(out):
    return FileExistsError(f"{out!r} was created by another process while this run was "
                           f"writing; nothing was replaced and this run's files were removed "
                           f"(pass force=True (--force) to replace it)")


def move_into(out, workdir, names, extra, force):
    """Move the new checkpoint's files from `workdir` into the existing folder `out`.

    Shards first (new names never clash with an old index's shards, so the old checkpoint
    stays loadable), then the index and config, then the old checkpoint's leftovers. Under
    the folder's lock, so that of two runs moving files into one folder the second sees
    what the first moved (and fails without `force`).
    """
    order = names + [x for x in extra if x != "config.json"] + \
        [x for x in extra if x == "config.json"]
    with atomic.FolderLock(out):
        clash, stale = _clash(out, names, extra)
        if clash and not force:
            raise FileExistsError(f"{out!r} now holds {', '.join(clash)}, written by another "
                                  f"process while this run was writing; nothing was "
                                  f"replaced (pass force=True (--force) to replace the "
                                  f"checkpoint)")
        if len(names) > 1 and "model.safetensors" in stale:
            os.unlink(os.path.join(out, "model.safetensors"))
        moved = []
        try:
            for name in order:
                src, dst = os.path.join(workdir, name), os.path.join(out, name)
                if force:
                    os.replace(src, dst)
                else:
                    atomic.publish(src, dst)
                moved.append(dst)
        except BaseException as e:
            if not force:               # put nothing half in place
                for dst in moved:
                    try:
                        os.unlink(dst)
                    except OSError:
                        pass
                if isinstance(e, FileExistsError):
                    raise lost_race(os.path.join(out, os.path.basename(e.filename or ""))) \
                        from None
            raise
        for name in stale:
            try:
                os.unlink(os.path.join(out, name))
            except FileNotFoundError:
                pass
        fsync_dir(out)
    return [os.path.join(out, x) for x in order]


def fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
