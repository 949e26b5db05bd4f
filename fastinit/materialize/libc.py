"""libc calls that the os module does not wrap, loaded through ctypes where the C library has them."""

import ctypes
import ctypes.util


def libc_function(name, argtypes, restype=ctypes.c_int):
    """The C library's function `name` with its signature set, or None where it has none
    (another OS, an older glibc). Errors are read with ``ctypes.get_errno()``."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = argtypes
    fn.restype = restype
    return fn
