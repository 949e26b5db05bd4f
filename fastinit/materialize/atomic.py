"""Temporary outputs that are published without replacing, and found again if abandoned.

Used by `fastinit.materialize`; nothing here knows about checkpoints.

* A temporary is named ``<prefix>.fastinit-tmp-<pid>-<start>-<random>``: the writing
  process's id and its start time (``/proc/<pid>/stat`` field 22 on Linux, 0 elsewhere), and
  the writer holds an exclusive `flock` on it (file or folder) for as long as it lives. A
  temporary is *stale* when nobody holds that lock and its process is gone: the id is not in
  use, or is in use by a process that started at another time (the id was reused). The lock
  alone would do, but a scanner can meet a temporary in the instant between its creation and
  its locking; the id and start time cover that instant, and the lock covers file systems
  where the process table says nothing (another host on a network mount).
* `publish` renames without replacing: ``renameat2(RENAME_NOREPLACE)`` where the kernel and
  file system have it, else ``link`` + ``unlink`` (a file) or ``mkdir`` + renames (a folder),
  both of which fail atomically when the target exists. Of two writers racing for one name,
  exactly one wins; the other gets FileExistsError.
* `FolderLock` serialises writers that move files into one existing folder.
"""

import ctypes
import errno
import os
import re
import shutil
import uuid

from .libc import libc_function

try:
    import fcntl
except ImportError:                     # Windows: no advisory locks; liveness by process id
    fcntl = None

TAG = ".fastinit-tmp-"
_NAME = re.compile(r"(?P<prefix>.*)\.fastinit-tmp-(?P<pid>\d+)-(?:(?P<start>\d+)-)?"
                   r"(?P<rand>[0-9a-f]{8})")


def _start_time(pid):
    """Start time of process `pid` in clock ticks after boot (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    try:       # the command name (field 2) may hold spaces and parentheses: split after it
        return int(stat.rsplit(b")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


_OWN_START = None


def temp_name(prefix):
    """A fresh temporary name ``prefix + '.fastinit-tmp-<pid>-<start>-<random>'``."""
    global _OWN_START
    pid = os.getpid()
    if _OWN_START is None or _OWN_START[0] != pid:      # recomputed in a forked child
        _OWN_START = (pid, _start_time(pid) or 0)
    return f"{prefix}{TAG}{pid}-{_OWN_START[1]}-{uuid.uuid4().hex[:8]}"


def owner_alive(pid, start):
    """Whether process `pid`, started at `start` (None or 0: unknown), still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:             # exists, another user's
        pass
    except OSError:
        return True
    if start:
        now = _start_time(pid)
        if now is not None and now != start:
            return False                # the id now belongs to another process
    return True


def lock(fd, blocking=True):
    """Take the exclusive advisory lock of `fd`; False if `blocking` is false and another
    process holds it. Released when the descriptor is closed (or the process dies)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError as e:
        if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            return True                 # no locks on this file system: liveness by id only
        raise
    return True


def _size(path):
    if not os.path.isdir(path) or os.path.islink(path):
        return os.lstat(path).st_size
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def stale_temporaries(folder, prefix, *, remove):
    """Abandoned temporaries named ``prefix + '.fastinit-tmp-...'`` directly in `folder`.

    Parameters
    ----------
    folder : str
    prefix : str
        The part of the name before the tag (``'.model.safetensors'``, or ``''``).
    remove : bool
        Delete each stale one (a file, or a folder and its contents).

    Returns
    -------
    list of (path, nbytes, pid)
        The stale temporaries found (removed when `remove`).
    """
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in sorted(entries):
        m = _NAME.fullmatch(name)
        if not m or m.group("prefix") != prefix:
            continue
        path = os.path.join(folder, name)
        pid, start = int(m.group("pid")), int(m.group("start") or 0)
        if owner_alive(pid, start):
            continue
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue                    # gone meanwhile, or not ours to open
        try:
            if not lock(fd, blocking=False):
                continue                # held: its writer lives (elsewhere)
            nbytes = _size(path)
            if remove:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
            found.append((path, nbytes, pid))
        finally:
            os.close(fd)
    return found


class FolderLock:
    """Exclusive lock of a folder for moving files into it (a context manager)."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            lock(self.fd)
        except BaseException:
            os.close(self.fd)
            raise
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
        self.fd = None


# Linux, glibc 2.28+
_renameat2 = libc_function("renameat2", (ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                           ctypes.c_char_p, ctypes.c_uint))
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _exists_error(dst):
    return FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst)


def publish(src, dst):
    """Rename `src` (a file or a folder) to `dst`, unless `dst` exists.

    Raises
    ------
    FileExistsError
        `dst` exists (a file, folder or link); `src` is left where it was.
    """
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst),
                      _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise _exists_error(dst)
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
            raise OSError(err, os.strerror(err), src, None, dst)
        # this file system cannot: fall back to operations that fail when dst exists
    if os.path.isdir(src) and not os.path.islink(src):
        os.mkdir(dst)                   # the claim: fails if anything is there
        for name in os.listdir(src):
            os.rename(os.path.join(src, name), os.path.join(dst, name))
        os.rmdir(src)
        return
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise _exists_error(dst) from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV,
                           errno.ENOSYS):
            raise
        # no hard links here either: the check and the rename are two steps
        if os.path.lexists(dst):
            raise _exists_error(dst) from None
        os.rename(src, dst)
        return
    os.unlink(src)
