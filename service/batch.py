"""Province sweeps on Dask (``dask.distributed``), or serially in this process.

The engine's unit of work is :class:`geo.province.SweepTask`: a few picklable fields
naming a province file, a district and a scenario. This module only schedules them:

- on a local cluster of ``workers`` processes (loopback only), or on an existing
  scheduler (``tcp://host:8786``) whose workers see the same files and network cache
  at the same paths;
- each district's tasks go to one worker by preference, so that worker loads the
  district once and keeps it warm (any worker may take them if that one is gone),
  in runs of a few tasks each, one Dask task per run (:func:`service.dispatch.district_runs`);
- a task that raises is retried ``retries`` times (an engine error, which would
  fail again, is reported at once); a worker that dies has its runs moved to the
  others by the scheduler; a task that still fails is reported by district and
  scenario, and the sweep goes on;
- what finished is written, with a manifest saying what did not (:func:`write_sweep`).

Serial runs call the same :func:`geo.province.run_task` in this process: the
baseline of ``benchmarks/sweep.py`` and of the equality tests.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geo.atomic import write_text
from geo.errors import PinganError
from geo.province import BASE, SweepTask, TaskRows, run_task
from service.dispatch import Dispatch, district_runs

__all__ = [
    "Failure",
    "SweepOutcome",
    "local_cluster",
    "local_cluster_config",
    "prepare_worker",
    "run_sweep",
    "sweep_session",
    "write_sweep",
]

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class Failure:
    """A task that did not finish: where, what, and the error it ended with."""

    district: str
    scenario: str
    error: str


@dataclass
class SweepOutcome:
    """The rows of every finished task, in task order, and the failures."""

    tasks: list[SweepTask]
    rows: dict[str, TaskRows] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    where: str = "serial"
    worker_memory_mb: dict[str, float] = field(default_factory=dict)

    def merge(self, other: SweepOutcome) -> None:
        """Add a later step's tasks, rows and failures (the same sweep, run on)."""
        self.tasks += other.tasks
        self.rows.update(other.rows)
        self.failures += other.failures
        self.seconds += other.seconds
        for w, mb in other.worker_memory_mb.items():
            self.worker_memory_mb[w] = max(mb, self.worker_memory_mb.get(w, 0.0))

    def summary(self, kind: str = "scenario") -> pd.DataFrame:
        """Return one row per finished task of ``kind``.

        That is the sweep's comparison table, or (``"hotspots"``) each district's
        incidents and hot spot counts.
        """
        recs = [
            self.rows[t.key].summary for t in self.tasks if t.key in self.rows and t.kind == kind
        ]
        return pd.DataFrame(recs)

    def villages(self, *, base: bool) -> pd.DataFrame:
        """Return the province's coverage (``base``), or every scenario's changed villages."""
        return self._rows(lambda t: t.kind == "scenario" and (t.scenario == BASE) == base)

    def hotspots(self) -> pd.DataFrame:
        """Return every district's hot cells and road pieces."""
        return self._rows(lambda t: t.kind == "hotspots")

    def _rows(self, which: Callable[[SweepTask], bool]) -> pd.DataFrame:
        parts = [self.rows[t.key].villages for t in self.tasks if t.key in self.rows and which(t)]
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def run_sweep(
    tasks: Sequence[SweepTask],
    *,
    workers: int = 2,
    scheduler: str | None = None,
    serial: bool = False,
    retries: int = 2,
    progress: ProgressFn | None = None,
    client: Any = None,
    chunk: int = 8,
) -> SweepOutcome:
    """Run every task and return what finished and what failed.

    ``serial`` runs them here, one by one; else on ``client`` (a connected
    ``distributed.Client``) or ``scheduler`` when given, or on a local cluster of
    ``workers`` single-threaded worker processes, started for this sweep. On Dask,
    each district's tasks go in runs of at most ``chunk`` (:func:`service.dispatch.district_runs`).
    """
    with sweep_session(
        workers=workers,
        scheduler=scheduler,
        serial=serial,
        retries=retries,
        progress=progress,
        client=client,
        chunk=chunk,
    ) as run:
        return run(tasks)


Runner = Callable[[Sequence[SweepTask]], SweepOutcome]


@contextmanager
def sweep_session(
    *,
    workers: int = 2,
    scheduler: str | None = None,
    serial: bool = False,
    retries: int = 2,
    progress: ProgressFn | None = None,
    client: Any = None,
    chunk: int = 8,
) -> Iterator[Runner]:
    """Yield a function that runs a list of tasks, as :func:`run_sweep` does.

    One cluster serves every call: a job whose second step depends on the first
    (the province's team match on its measures) runs both on the same workers, whose
    districts are then still warm.
    """
    say = progress or (lambda _m: None)

    def runner(where: str, run: Callable[[SweepOutcome], None]) -> Runner:
        def go(tasks: Sequence[SweepTask]) -> SweepOutcome:
            out = SweepOutcome(tasks=list(tasks), where=where)
            t0 = time.perf_counter()
            run(out)
            out.seconds = time.perf_counter() - t0
            return out

        return go

    if serial:
        yield runner("serial", lambda out: _serial(out, say))
    elif client is not None:
        yield runner(
            "the given Dask client", lambda out: _distributed(client, out, retries, chunk, say)
        )
    else:
        with _new_client(workers, scheduler, say) as (new, where):
            yield runner(where, lambda out: _distributed(new, out, retries, chunk, say))


def _serial(out: SweepOutcome, say: ProgressFn) -> None:
    n = len(out.tasks)
    for i, t in enumerate(out.tasks, start=1):
        ts = time.perf_counter()
        try:
            out.rows[t.key] = run_task(t)
        except PinganError as exc:
            out.failures.append(Failure(t.district, t.scenario or t.kind, str(exc)))
            say(f"task {i}/{n} {t.key} failed: {exc}")
            continue
        say(f"task {i}/{n} {t.key} done in {time.perf_counter() - ts:.1f} s")


@contextmanager
def _new_client(workers: int, scheduler: str | None, say: ProgressFn) -> Iterator[tuple[Any, str]]:
    """Connect to ``scheduler``, or start (and at the end close) a local cluster."""
    try:
        from distributed import Client
    except ImportError as exc:
        msg = (
            "a distributed sweep needs Dask: install the dask set (make .venv/.installed-dask) "
            "or run with --serial"
        )
        raise PinganError(msg) from exc
    cluster = None
    try:
        if scheduler is None:
            say(f"starting a local Dask cluster of {workers} workers on 127.0.0.1")
            cluster = local_cluster(workers)
            client = Client(cluster)
            where = f"local cluster, {workers} workers"
        else:
            say(f"connecting to the Dask scheduler at {scheduler}")
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                msg = f"cannot reach the Dask scheduler at {scheduler}: {exc}"
                raise PinganError(msg) from exc
            where = f"scheduler {scheduler}"
        with client:
            yield client, where
    finally:
        if cluster is not None:
            cluster.close()


def local_cluster(workers: int) -> Any:
    """Start a local cluster of ``workers`` single-threaded processes on loopback.

    It is set up as :func:`local_cluster_config` says.
    """
    _check_workers(workers)
    import dask
    from distributed import LocalCluster

    with dask.config.set(local_cluster_config()):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=40,
        )


def local_cluster_config() -> dict[str, Any]:
    """Return the Dask settings of the local clusters a sweep starts.

    - No work stealing: a task moved off its district's worker would make another
      worker load that district too, which costs more than the task.
    - The workers keep glibc's adaptive malloc: Dask's default ``MALLOC_TRIM_THRESHOLD_``
      (64 KiB) fixes the trim threshold, which turns off glibc's adaptation of its
      mmap threshold; a sweep's table copies then map and unmap memory at every step,
      measured 33 % slower per task. The workers fix the mmap threshold as the
      ``pingan`` command does for itself (:func:`service.memory.return_large_blocks`).
    - No sampling profiler and no GIL monitor on the workers (below).
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {
        "distributed.scheduler.work-stealing": False,
        "distributed.nanny.pre-spawn-environ": environ,
        # The workers' sampling profiler takes the GIL every 10 ms from the task it
        # samples; a sweep's tasks are many and short, and nobody reads the profile.
        "distributed.worker.profile.enabled": False,
        # Nor the GIL monitor, which knocks on the GIL every millisecond.
        "distributed.admin.system-monitor.gil.enabled": False,
    }


def prepare_worker() -> None:
    """Set up a worker process for sweeps: glibc's mmap threshold, the engine imported."""
    from service.memory import return_large_blocks

    return_large_blocks()
    import geo.province  # noqa: F401  (the engine, imported once per worker)


def _check_workers(workers: int) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        msg = f"--workers must be a whole number of at least 1, got {workers!r}"
        raise PinganError(msg)


#: Runs in flight on each worker: one running, one queued behind it, so a worker
#: never waits for the planner's process to hand it the next.
_DEPTH = 2


def _distributed(client: Any, out: SweepOutcome, retries: int, chunk: int, say: ProgressFn) -> None:
    from distributed import as_completed

    client.run(prepare_worker)
    plan = Dispatch(district_runs(out.tasks, chunk))
    parts: dict[Any, list[SweepTask]] = {}
    slots: dict[Any, str] = {}  # each run's future -> the worker it was given to
    finished = as_completed(with_results=True, raise_errors=False)

    def fill() -> None:
        live = _workers(client)
        for gone in set(plan.held) - set(live):
            plan.forget(gone)
        for w in live:
            while sum(v == w for v in slots.values()) < _DEPTH:
                run = plan.next_for(w)
                if run is None:
                    break
                first, part = run
                f = client.submit(
                    _run_chunk,
                    part,
                    retries,
                    key=f"sweep-{first:05d}-{part[0].district}-{len(part)}",
                    workers=[w],
                    # Should w die, the scheduler runs its runs on another worker.
                    allow_other_workers=True,
                    pure=False,
                )
                parts[f], slots[f] = part, w
                finished.add(f)

    n = len(out.tasks)
    done = 0
    t0 = time.perf_counter()
    fill()
    for f, result in finished:
        part = parts.pop(f)
        slots.pop(f)
        if f.status == "finished":
            results = result
        else:  # the run itself failed (it cannot be unpickled, say): all its tasks did
            exc = f.exception()
            results = [(t.key, None, f"{type(exc).__name__}: {exc}", 0.0) for t in part]
        for t, (_key, rows, error, secs) in zip(part, results, strict=True):
            done += 1
            if rows is not None:
                out.rows[t.key] = rows
                what = f"done in {secs:.1f} s"
            else:
                out.failures.append(Failure(t.district, t.scenario or t.kind, error))
                what = f"failed ({error})"
            el = time.perf_counter() - t0
            eta = el / done * (n - done)
            say(f"task {done}/{n} {t.key} {what} [{el:.0f} s, about {eta:.0f} s left]")
        if len(plan):
            fill()
    out.worker_memory_mb = _worker_memory(client)


def _workers(client: Any) -> list[str]:
    addrs = sorted(client.scheduler_info()["workers"])
    if not addrs:
        client.wait_for_workers(1, timeout=60)
        addrs = sorted(client.scheduler_info()["workers"])
    return addrs


ChunkResult = list[tuple[str, "TaskRows | None", str, float]]


def _run_chunk(tasks: Sequence[SweepTask], retries: int) -> ChunkResult:
    """Run one district's tasks in a row on this worker: (key, rows or None, error, s).

    Module-level, so Dask pickles a reference, not a closure. A :class:`PinganError`
    is the task's own fault (an edit naming no station, say) and would fail again: it
    is reported at once. Anything else is retried here ``retries`` times. A worker
    that dies takes its chunk with it, and the scheduler runs the chunk again on
    another worker (the district's other tasks are then rerun there too, with the
    same rows: tasks are deterministic).
    """
    results: ChunkResult = []
    for t in tasks:
        ts = time.perf_counter()
        for attempt in range(retries + 1):
            try:
                rows = run_task(t)
            except PinganError as exc:
                results.append((t.key, None, str(exc), time.perf_counter() - ts))
                break
            except Exception as exc:  # noqa: BLE001 - reported by district and scenario
                if attempt == retries:
                    error = f"{type(exc).__name__}: {exc}"
                    results.append((t.key, None, error, time.perf_counter() - ts))
            else:
                results.append((t.key, rows, "", time.perf_counter() - ts))
                break
    return results


def _worker_memory(client: Any) -> dict[str, float]:
    def rss() -> float:
        import psutil

        return psutil.Process(os.getpid()).memory_info().rss / 2**20

    try:
        return {k: round(float(v), 1) for k, v in client.run(rss).items()}
    except Exception:  # noqa: BLE001 - memory is a report, never a reason to fail
        return {}


def write_sweep(
    outcome: SweepOutcome,
    folder: str | Path,
    meta: dict[str, Any],
    also: Sequence[Path] = (),
) -> list[Path]:
    """Write the sweep's tables and its manifest into ``folder``; return the paths.

    ``summary.csv`` (one row per finished scenario and district), ``coverage.csv`` (the
    province's villages, each from its own district), ``changes.csv`` (every village a
    scenario changed), with a hot spot report ``hotspots.csv`` (every district's hot
    cells and road pieces) and ``hotspots_summary.csv``, and ``manifest.json`` (what
    ran, where, what finished, what failed and why, and every file of the sweep:
    these and ``also``, written by another writer). Each file is written whole or not
    at all.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    tables = [
        ("summary.csv", outcome.summary()),
        ("coverage.csv", outcome.villages(base=True)),
        ("changes.csv", outcome.villages(base=False)),
    ]
    if any(t.kind == "hotspots" for t in outcome.tasks):
        tables += [
            ("hotspots.csv", outcome.hotspots()),
            ("hotspots_summary.csv", outcome.summary("hotspots")),
        ]
    for name, frame in tables:
        written.append(write_text(out / name, frame.to_csv(index=False)))
    manifest = {
        **meta,
        "where": outcome.where,
        "seconds": round(outcome.seconds, 2),
        "tasks": len(outcome.tasks),
        "finished": len(outcome.rows),
        "failed": [f.__dict__ for f in outcome.failures],
        "not_finished": [t.key for t in outcome.tasks if t.key not in outcome.rows],
        "worker_memory_mb": outcome.worker_memory_mb,
        "files": [p.name for p in [*written, *also]],
    }
    written.append(
        write_text(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    )
    return written
