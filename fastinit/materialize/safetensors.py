"""A minimal safetensors writer: the header, then tensor regions filled through memory maps.

The format (https://github.com/huggingface/safetensors): 8 bytes little-endian ``N``, then
``N`` bytes of UTF-8 JSON, then the raw little-endian tensor data. The JSON maps each tensor
name to ``{"dtype": "BF16", "shape": [...], "data_offsets": [begin, end]}`` (offsets relative
to the start of the data) and may hold a ``"__metadata__"`` mapping of str to str. Readers
require the regions to tile the data exactly (no gaps, no overlap), so regions are laid out
back to back; sorting them by item size, largest first, keeps every region aligned to its own
item size (the header is padded with spaces to a multiple of 8 bytes, as the reference
implementation does).

Nothing here knows about sampling: `ShardFile` creates the file (space reserved up front),
writes the header and hands out writable NumPy views of one region at a time, each backed by
its own short-lived ``mmap`` so that the pages it touched leave the process's resident set as
soon as the view is done with.
"""

import ctypes
import json
import math
import mmap
import os
import struct

import numpy as np

from . import atomic
from .libc import libc_function

#: safetensors dtype tag and storage dtype of each output dtype (bfloat16 is stored as raw
#: uint16 words; the samplers are told ``dtype='bfloat16'``).
DTYPES = {
    "float64": ("F64", np.dtype("<f8")),
    "float32": ("F32", np.dtype("<f4")),
    "float16": ("F16", np.dtype("<f2")),
    "bfloat16": ("BF16", np.dtype("<u2")),
}

_HEADER_ALIGN = 8
_MAX_HEADER = 100_000_000      # the reference reader refuses larger headers


def itemsize(dtype):
    """Bytes per element of an output dtype name."""
    return DTYPES[dtype][1].itemsize


def layout(entries, metadata=None):
    """Header bytes and data offsets of a file holding `entries`.

    Parameters
    ----------
    entries : sequence of (name, dtype, shape)
        `dtype` is a key of `DTYPES`. Regions are placed in this order after a stable sort
        by item size (largest first), which keeps every region aligned.
    metadata : dict of str to str, optional
        Stored under ``"__metadata__"``.

    Returns
    -------
    header : bytes
        The 8-byte length prefix and the padded JSON header.
    offsets : dict
        name -> absolute byte offset of the tensor's data in the file.
    size : int
        Total file size in bytes.
    """
    order = sorted(entries, key=lambda e: -itemsize(e[1]))
    doc = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map str to str")
        doc["__metadata__"] = dict(metadata)
    rel, pos = {}, 0
    for name, dtype, shape in order:
        if name in doc or name in rel:
            raise ValueError(f"duplicate tensor name {name!r}")
        nbytes = math.prod(shape) * itemsize(dtype)
        doc[name] = {"dtype": DTYPES[dtype][0], "shape": [int(s) for s in shape],
                     "data_offsets": [pos, pos + nbytes]}
        rel[name] = pos
        pos += nbytes
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-(len(text) + 8) % _HEADER_ALIGN)
    if len(text) > _MAX_HEADER:
        raise ValueError(f"safetensors header of {len(text)} bytes is over the 100 MB limit "
                         f"readers accept: split the tensors over more shards")
    header = struct.pack("<Q", len(text)) + text
    base = len(header)
    return header, {name: base + off for name, off in rel.items()}, base + pos


def _reserve(fd, size):
    """Give the file its final size with its blocks allocated (no SIGBUS on a full disk)."""
    if size == 0:
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as e:
        import errno
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise OSError(e.errno, f"not enough disk space to reserve {size} bytes: "
                                   f"{e.strerror}") from None
        # the file system cannot preallocate (EINVAL/EOPNOTSUPP): a sparse file it is
        os.ftruncate(fd, size)
    else:
        if os.fstat(fd).st_size != size:        # posix_fallocate never shrinks
            os.ftruncate(fd, size)


# Linux
_sync_file_range = libc_function("sync_file_range", (ctypes.c_int, ctypes.c_int64,
                                                     ctypes.c_int64, ctypes.c_uint))
_SFR_WAIT_BEFORE, _SFR_WRITE, _SFR_WAIT_AFTER = 1, 2, 4
#: Bytes behind the newest filled region whose write-back may still be in flight; older
#: data is waited for and dropped from the page cache (0 disables write-behind).
WRITE_BEHIND = 256 << 20


class ShardFile:
    """One safetensors file being written: created, header written, regions filled, synced.

    Parameters
    ----------
    path : str
        Where to create the file (a temporary name; the caller renames it when all is done).
    header : bytes
        From `layout`.
    size : int
        Total file size, from `layout`.
    """

    def __init__(self, path, header, size, write_behind=None):
        self.path = path
        self.size = size
        self.window = WRITE_BEHIND if write_behind is None else write_behind
        self.submitted = self.retired = 0      # write-back started / finished below these
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                          0o644)
        try:
            # held while the file is open: a later run sees that the temporary is in use
            # (a stale one, of a killed process, is one nobody holds)
            atomic.lock(self.fd)
            _reserve(self.fd, size)
            os.pwrite(self.fd, header, 0)
        except BaseException:
            self.close()
            raise

    def fill(self, offset, dtype, shape, fn):
        """Call ``fn(view)`` with a writable view of the region at `offset`.

        The view is backed by a mapping of just that region, unmapped when `fn` returns, so
        the pages it dirtied go to the page cache and stop counting against this process.
        Write-behind: the region's write-back to disk starts at once, and data more than
        `WRITE_BEHIND` bytes behind it is waited for and dropped from the page cache. The
        disk is kept busy while the next regions are computed, a run never leaves gigabytes
        of dirty pages to flush at the end, and a checkpoint larger than RAM does not push
        everything else out of the page cache. `fn` must not keep references to the view.
        """
        storage = DTYPES[dtype][1]
        count = math.prod(shape)
        if count == 0:
            fn(np.empty(shape, storage))
            return
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        delta = offset - start
        mm = mmap.mmap(self.fd, delta + count * storage.itemsize, mmap.MAP_SHARED,
                       mmap.PROT_READ | mmap.PROT_WRITE, offset=start)
        try:
            view = np.frombuffer(mm, storage, count=count, offset=delta).reshape(shape)
            fn(view)
            del view
        finally:
            try:
                mm.close()
            except BufferError:
                # a view is still referenced (an exception's traceback): the mapping goes
                # with it; nothing is lost because the file is discarded on error anyway.
                pass
        self._write_behind(offset, count * storage.itemsize)

    def _write_behind(self, offset, nbytes):
        if _sync_file_range is None or self.window <= 0 or nbytes == 0:
            return
        end = offset + nbytes
        start = self.submitted if offset >= self.submitted else offset
        if _sync_file_range(self.fd, start, end - start, _SFR_WRITE) != 0:
            self.window = 0             # not supported here: leave it to the kernel
            return
        self.submitted = max(self.submitted, end)
        upto = self.submitted - self.window
        if upto - self.retired >= self.window // 4:
            _sync_file_range(self.fd, self.retired, upto - self.retired,
                             _SFR_WAIT_BEFORE | _SFR_WRITE | _SFR_WAIT_AFTER)
            try:
                os.posix_fadvise(self.fd, self.retired, upto - self.retired,
                                 os.POSIX_FADV_DONTNEED)
            except (OSError, AttributeError):
                pass
            self.retired = upto

    def sync(self):
        """Flush the file's data and metadata to disk."""
        os.fsync(self.fd)

    def close(self):
        """Close the file descriptor (idempotent)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


def read_header(path):
    """The parsed JSON header of a safetensors file and the offset of its data.

    Returns
    -------
    header : dict
    data_start : int
    """
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)), 8 + n
