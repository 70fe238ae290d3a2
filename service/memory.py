"""How the process hands memory back: large blocks go back to the system when freed.

glibc serves a block of more than 128 KiB from its own mapping, returned to the system
on ``free`` — until a freed block is larger still, when it raises that threshold (up to
32 MiB) and serves later ones from the heap, where they stay after ``free`` as long as
anything above them is alive. Our commands make hundreds of array temporaries of a
few MiB each (one per column per step on a province's roads): with the sliding
threshold, each step leaves its temporaries in the heap and the next step's peak is
built on top. Fixing the threshold keeps them out of the heap: ``pingan unlit`` on 2M
incidents ends its risk step holding 220 MB less.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["return_large_blocks"]

_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
_THRESHOLD = 128 * 1024  # glibc's own starting value; setting it stops the sliding


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold for this process; return whether it was set.

    Elsewhere (macOS, musl, Windows) it does nothing: their allocators do not slide.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD))
