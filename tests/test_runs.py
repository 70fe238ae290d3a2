"""A main-job run is complete or clearly not: staging, swap, manifest, kills, Ctrl-C."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.runs import MANIFEST, RunOutput, read_manifest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _consistent(folder: Path) -> bool:
    """Whether a complete manifest's files are all there with the hashes it states."""
    m = read_manifest(folder)
    assert m is not None and m["status"] == "complete"
    return all((folder / n).is_file() and _sha(folder / n) == h for n, h in m["files"].items())


@pytest.fixture(scope="module")
def full_run(sample_full_area, tmp_path_factory):
    from service.run import run_area

    out = tmp_path_factory.mktemp("run")
    result = run_area(sample_full_area, out, extra={"seed": 2023})
    return out, result


def test_a_complete_run_ends_with_a_manifest_of_every_file(full_run) -> None:
    """The manifest says complete, lists every file with its hash, the inputs and options."""
    out, result = full_run
    m = read_manifest(out)
    assert m is not None and m["status"] == "complete" and m["finished"]
    assert _consistent(out)
    assert set(m["files"]) == set(result["files"]) - {MANIFEST}
    assert m["options"]["seed"] == 2023 and m["version"]
    assert set(m["inputs"]) >= {"osm", "villages", "stations", "incidents", "groups"}
    osm = m["inputs"]["osm"]
    assert osm["sha256"] == _sha(Path(osm["path"]))
    assert not list(out.glob(".pingan-staging-*"))
    # Scenario paths are relative to where the scenarios stay, not to the staging folder.
    scen = json.loads((out / "scenarios" / "base.json").read_text(encoding="utf-8"))
    assert (out / "scenarios" / scen["base"]["osm"]).resolve() == Path(osm["path"]).resolve()


def test_a_failed_run_leaves_the_earlier_run_untouched(full_run, sample_full_area, monkeypatch):
    """A run that fails half-way changes no file of the complete run already there."""
    import service.run as run_mod

    out, _ = full_run
    before = {p.name: _sha(p) for p in out.iterdir() if p.is_file()}

    def broken(*_a, **_k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run_mod, "run_night_job", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_mod.run_area(sample_full_area, out)
    after = {p.name: _sha(p) for p in out.iterdir() if p.is_file()}
    assert after == before and _consistent(out)
    assert not list(out.glob(".pingan-staging-*"))


def test_an_earlier_runs_leftovers_are_removed_and_others_listed(tmp_path) -> None:
    """Files the previous manifest listed but this run did not write go; others are listed."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "posts.csv").write_text("old run\n")
    (out / "unlit.html").write_text("a single command's map\n")
    (out / MANIFEST).write_text(json.dumps({"status": "complete", "files": {"posts.csv": "x"}}))
    w = RunOutput(out, {"version": "test"})
    w.text("summary.md", "new")
    w.commit()
    m = read_manifest(out)
    assert m is not None and m["status"] == "complete" and set(m["files"]) == {"summary.md"}
    assert not (out / "posts.csv").exists()
    assert (out / "unlit.html").read_text() == "a single command's map\n"
    assert m["not_from_this_run"] == ["unlit.html"]


def test_a_dead_runs_staging_folder_is_cleared_by_the_next_run(tmp_path) -> None:
    """Staging left by a killed writer goes; a live writer's staging is never touched."""
    out = tmp_path / "out"
    dead = out / ".pingan-staging-999999999-1"
    live = out / f".pingan-staging-{os.getpid()}-2"
    for d in (dead, live):
        d.mkdir(parents=True)
        (d / "summary.md").write_text("partial")
    w = RunOutput(out, {})
    assert not dead.exists() and live.exists()
    w.abort()


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    """One network cache for the demo runs: they test runs, not builds."""
    return str(tmp_path_factory.mktemp("cache"))


def _demo(out: Path, cache: str, *, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "service.cli", "-q", "demo", "--out", str(out)]
    cmd += ["--cache-dir", cache]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, text=True)


def test_a_run_killed_anywhere_never_says_complete_wrongly(tmp_path, cache) -> None:
    """kill -9 at any point: the folder holds the earlier complete run, or says it is not."""
    out = tmp_path / "out"
    first = _demo(out, cache)
    assert first.wait(timeout=300) == 0
    assert _consistent(out)
    started = time.monotonic()
    for delay in (2.0, 6.0):
        p = _demo(out, cache)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        m = read_manifest(out)
        assert m is not None
        assert m["status"] in ("complete", "replacing")
        if m["status"] == "complete":
            assert _consistent(out)
    assert time.monotonic() - started < 120
    RunOutput(out, {}).abort()  # the next run clears what the killed ones staged
    assert not list(out.glob(".pingan-staging-*"))


def test_ctrl_c_is_one_line_and_status_130(tmp_path, cache) -> None:
    """SIGINT during a long command: status 130, one line, no traceback."""
    out = tmp_path / "out"
    p = _demo(out, cache, stderr=subprocess.PIPE)
    # Once the run has written into out/ it is under way (a fixed sleep could land in
    # Python's own start-up on a loaded machine, before pingan handles anything).
    deadline = time.monotonic() + 120
    while not (out.exists() and any(out.iterdir())) and time.monotonic() < deadline:
        assert p.poll() is None, "the demo ended before it could be interrupted"
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130
    assert err.strip().splitlines() == ["pingan: interrupted; nothing half-written was left behind"]
