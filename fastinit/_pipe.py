"""Command-line output into a pipe whose reader has gone (``fastinit ... | head -1``)."""

import os
import sys

#: Exit status after the reader went away: 128 + SIGPIPE, what the shell reports for a
#: program that SIGPIPE ended (``seq 100000 | head -1``).
EXIT_BROKEN_PIPE = 141


def _silence(stream, fd):
    """Flush `stream`; if its reader is gone, point `fd` at /dev/null so that nothing written
    later (Python flushes the standard streams once more at exit) raises again."""
    try:
        if stream is not None:
            stream.flush()
    except (BrokenPipeError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


def run_cli(main, argv):
    """``main(argv)``, its exit status; a broken stdout/stderr pipe ends it quietly.

    Python ignores SIGPIPE, so writing to a pipe nobody reads raises BrokenPipeError, and
    a traceback would follow (and a second one at exit). This is the recipe of Python's
    `signal` documentation: redirect the broken stream to /dev/null and exit with
    `EXIT_BROKEN_PIPE`, silently.
    """
    try:
        status = main(argv)
        sys.stdout.flush()                  # inside the try: a failure here is the same case
        return status
    except BrokenPipeError:
        _silence(sys.stdout, 1)
        _silence(sys.stderr, 2)
        return EXIT_BROKEN_PIPE
