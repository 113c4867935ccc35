"""Giving freed memory back to the system, where the C library can.

CPython frees into glibc's malloc, which keeps freed pages for the process's next allocations.
After a one-time load that builds and drops a lot (the password word lists), those pages stay
resident in the worker for its whole life unless they are handed back.
"""

import ctypes


def _malloc_trim():
    """glibc's ``malloc_trim`` from the C library already loaded in this process (no lookup of
    library files), or None where there is none (musl, macOS)."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


_trim = _malloc_trim()


def give_back_freed_memory() -> None:
    """Return every arena's free pages to the system (``malloc_trim(0)``: glibc 2.8 and later
    release free pages inside an arena too, not only at its top)."""
    if _trim is not None:
        _trim(0)
