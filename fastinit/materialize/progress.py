"""The progress line of ``fastinit materialize`` and its byte and time formats."""

import math
import sys
import time


class Progress:
    """Tensors, bytes, rate and ETA on stderr: one updating line on a terminal, else a line
    every few seconds."""

    def __init__(self, ntensors, nbytes, enabled, stream=None):
        self.ntensors, self.nbytes = ntensors, nbytes
        self.stream = stream if stream is not None else sys.stderr
        self.callback = enabled if callable(enabled) else None
        self.enabled = bool(enabled) and self.callback is None
        self.tty = self.enabled and getattr(self.stream, "isatty", lambda: False)()
        self.interval = 0.2 if self.tty else 5.0
        self.t0 = time.perf_counter()
        self.last = -math.inf
        self.tensors = 0
        self.bytes = 0

    def add(self, nbytes=0, tensors=0):
        self.bytes += nbytes
        self.tensors += tensors
        if self.callback is not None:
            self.callback(self.tensors, self.ntensors, self.bytes, self.nbytes)
        if self.enabled:
            now = time.perf_counter()
            if now - self.last >= self.interval:
                self.last = now
                self._emit(self._line(now))

    def _line(self, now):
        dt = max(now - self.t0, 1e-9)
        rate = self.bytes / dt
        left = (self.nbytes - self.bytes) / rate if rate > 0 else math.inf
        eta = "--" if not math.isfinite(left) else _hms(left)
        return (f"fastinit materialize: {self.tensors}/{self.ntensors} tensors | "
                f"{gb(self.bytes)}/{gb(self.nbytes)} | {rate / 1e9:.2f} GB/s | ETA {eta}")

    def _emit(self, line, end=False):
        if self.tty:
            self.stream.write("\r\x1b[K" + line + ("\n" if end else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text):
        if self.enabled:
            if self.tty:
                self.stream.write("\r\x1b[K")
            self._emit(f"fastinit materialize: {text}", end=True)

    def done(self):
        if self.enabled:
            self._emit(self._line(time.perf_counter()), end=True)


def gb(n):
    """`n` bytes as ``"1.23 GB"``, or ``"45.6 MB"`` below 0.1 GB."""
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _hms(s):
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"
