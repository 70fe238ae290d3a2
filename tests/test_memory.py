"""The process hands freed array memory back to the system (service/memory.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A fresh process per case: the threshold is per process and slides once. glibc's
# mallinfo2 says where a block came from: ``hblkhd`` counts the bytes in blocks with a
# mapping of their own (handed back on free), the rest lives in the heap.
_PROBE = """
import ctypes, sys
import numpy as np
from service.memory import return_large_blocks

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

if sys.argv[1] == "fixed":
    assert return_large_blocks()
big = np.ones(20 * 2**20 // 8)  # 20 MiB: glibc would raise its threshold past it
del big
mapped = libc.mallinfo2().hblkhd
one = np.ones(4 * 2**20 // 8)  # a 4 MiB temporary: its own mapping, or the heap?
own_mapping = libc.mallinfo2().hblkhd - mapped >= 4 * 2**20
del one
before = rss_mb()
# 200 MiB of 4 MiB temporaries, each followed by something small that stays alive (as
# a step's results stay alive after its temporaries are freed).
blocks, kept = [], []
for _ in range(50):
    blocks.append(np.ones(4 * 2**20 // 8))
    kept.append(np.ones(4096))
del blocks
print(own_mapping, rss_mb() - before)
"""


def _probe(mode: str) -> tuple[bool, float]:
    """Run the probe; return (a 4 MiB block had its own mapping, MB left resident)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0] == "True", float(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_freed_temporaries_go_back_to_the_system():
    """With the threshold fixed, a 4 MiB temporary gets a mapping of its own and 200 MiB
    of them, freed, leave RSS where it was. With glibc's sliding threshold (the
    control), the same temporary comes from the heap after a larger block was freed,
    where freed memory may stay resident."""
    from service.memory import return_large_blocks

    if not return_large_blocks():
        pytest.skip("not glibc: no mmap threshold to fix")
    own, retained = _probe("fixed")
    assert own and retained < 20
    own, _ = _probe("sliding")
    assert not own


def test_the_cli_fixes_the_threshold_before_any_command(monkeypatch):
    """`pingan` sets it first thing, so every command's temporaries are returned."""
    import service.memory
    from service import cli

    calls = []
    monkeypatch.setattr(service.memory, "return_large_blocks", lambda: calls.append(1) or True)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert calls == [1]
