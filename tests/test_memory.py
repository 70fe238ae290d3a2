"""The process hands freed array memory back to the system (service/memory.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A fresh process per case: the threshold is per process and slides once.
_PROBE = """
import sys
import numpy as np
from service.memory import return_large_blocks

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

if sys.argv[1] == "fixed":
    assert return_large_blocks()
big = np.ones(20 * 2**20 // 8)  # 20 MiB: glibc would raise its threshold past it
del big
before = rss_mb()
# 200 MiB of 4 MiB temporaries, each followed by something small that stays alive (as
# a step's results stay alive after its temporaries are freed).
blocks, kept = [], []
for _ in range(50):
    blocks.append(np.ones(4 * 2**20 // 8))
    kept.append(np.ones(4096))
del blocks
print(rss_mb() - before)
"""


def _retained_mb(mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_freed_temporaries_go_back_to_the_system():
    """With the threshold fixed, 200 MiB of freed 4 MiB arrays leave RSS where it was;
    with glibc's sliding threshold (the control) most of it stays resident."""
    from service.memory import return_large_blocks

    if not return_large_blocks():
        pytest.skip("not glibc: no mmap threshold to fix")
    assert _retained_mb("fixed") < 20
    assert _retained_mb("sliding") > 150


def test_the_cli_fixes_the_threshold_before_any_command(monkeypatch):
    """`pingan` sets it first thing, so every command's temporaries are returned."""
    import service.memory
    from service import cli

    calls = []
    monkeypatch.setattr(service.memory, "return_large_blocks", lambda: calls.append(1) or True)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert calls == [1]
