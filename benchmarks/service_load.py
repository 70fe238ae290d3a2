"""Load on the planning service: latency and throughput of the map and patrol endpoints.

Starts ``pingan serve`` (uvicorn) on 127.0.0.1 on a free port with a fresh data folder
(the sample district), signs in as the first dispatcher, then sends a bounded load from
client threads and prints, per endpoint, p50 / p95 latency (ms), throughput (req/s),
failures, and p50 as a ratio to ``GET /health``, the named baseline (what the server
and the network stack cost for a request that does nothing)::

    .venv/bin/python -m benchmarks.service_load            # 4 threads, 200 requests each
    .venv/bin/python -m benchmarks.service_load --requests 50 --threads 2

The endpoints: ``GET /health``, ``GET /maps/overview``, ``GET /maps/patrol/{plan}`` (of a
plan made first) and ``POST /patrol/plans`` (a small solver budget, fewer requests, each
polled until its job is done). Every request goes to the loopback address only; the
whole run stops at ``--limit-s`` (default 180 s). Exit status 1 when any request failed
(or the time limit cut the load short), else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LocalServer", "free_port", "main", "serve_local"]

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only: nothing here talks to another machine


def free_port() -> int:
    """Return a TCP port free on the loopback address now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class LocalServer:
    """A ``pingan serve`` subprocess on 127.0.0.1 and where its log and data are."""

    process: subprocess.Popen[bytes]
    port: int
    data: Path
    log: Path

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{HOST}:{self.port}"

    def users(self) -> dict[str, tuple[str, str]]:
        """Return {role: (name, password)} of the first users the server created."""
        out: dict[str, tuple[str, str]] = {}
        for line in (self.data / "first-users.txt").read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                name, password, role = line.split("\t")[:3]
                out[role.split()[0]] = (name, password)
        return out

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)


@contextlib.contextmanager
def serve_local(data: Path, *, start_timeout_s: float = 240.0) -> Iterator[LocalServer]:
    """Run ``pingan serve`` on the sample district with ``data`` as its data folder.

    Waits (at most ``start_timeout_s``) for ``/health`` to answer, and stops the server on
    exit. On a first start the server writes the sample into ``data/sample`` and its first
    users' passwords into ``data/first-users.txt``.
    """
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = data / "server.log"
    exe = Path(sys.executable).with_name("pingan")
    cmd = [str(exe), "serve", "--host", HOST, "--port", str(port), "--data", str(data)]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PINGAN_AREA")}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    server = LocalServer(proc, port, data, log)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                msg = f"pingan serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
                raise RuntimeError(msg)
            try:
                with urllib.request.urlopen(f"{server.url}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                tail = log.read_text()[-3000:]
                msg = f"pingan serve did not answer in {start_timeout_s:.0f} s:\n{tail}"
                raise RuntimeError(msg)
            time.sleep(0.5)
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- requests


def _request(
    url: str,
    *,
    token: str | None = None,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str | None = None,
    timeout_s: float = 120.0,
) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def sign_in(base: str, name: str, password: str) -> str:
    """Return a bearer token from ``POST /auth/token``."""
    form = urllib.parse.urlencode({"username": name, "password": password}).encode()
    status, body = _request(
        f"{base}/auth/token",
        method="POST",
        body=form,
        content_type="application/x-www-form-urlencoded",
    )
    if status != 200:
        msg = f"sign-in as {name} answered {status}: {body[:300]!r}"
        raise RuntimeError(msg)
    return str(json.loads(body)["access_token"])


def plan_once(base: str, token: str, *, seconds: float, timeout_s: float = 120.0) -> str:
    """Post a small patrol plan, poll its job to the end, and return the plan's id."""
    req = {"units": 2, "shift": "night", "date": "2024-05-01", "seconds": seconds}
    status, body = _request(
        f"{base}/patrol/plans",
        token=token,
        method="POST",
        body=json.dumps(req).encode(),
        content_type="application/json",
    )
    if status not in (200, 201, 202):
        msg = f"POST /patrol/plans answered {status}: {body[:300]!r}"
        raise RuntimeError(msg)
    job = json.loads(body)
    deadline = time.monotonic() + timeout_s
    while job.get("status") not in ("done", "failed", "cancelled"):
        if "href" not in job:  # answered with the plan itself (synchronous)
            return str(job["id"])
        if time.monotonic() > deadline:
            msg = f"patrol job {job['id']} not done in {timeout_s:.0f} s"
            raise RuntimeError(msg)
        time.sleep(0.2)
        status, body = _request(f"{base}{job['href']}", token=token)
        if status != 200:
            msg = f"GET {job['href']} answered {status}: {body[:300]!r}"
            raise RuntimeError(msg)
        job = json.loads(body)
    if job["status"] != "done":
        msg = f"patrol job {job['id']} {job['status']}: {job.get('error')}"
        raise RuntimeError(msg)
    result = job.get("result") or {}
    plan = result.get("plan_id") or result.get("plan") or result.get("id")
    if not plan:
        msg = f"patrol job {job['id']} names no plan in its result {result}"
        raise RuntimeError(msg)
    return str(plan)


# --------------------------------------------------------------------------- the load


@dataclass
class Figures:
    """Latencies (s) and failures of one endpoint's load."""

    name: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def p(self, q: float) -> float:
        """The ``q`` quantile of the latencies, in ms."""
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1] * 1000


def run_load(
    name: str,
    call: Callable[[], None],
    *,
    requests: int,
    threads: int,
    deadline: float,
) -> Figures:
    """Call ``call`` ``requests`` times from ``threads`` threads; stop at ``deadline``."""
    fig = Figures(name)

    def one(_: int) -> None:
        if time.monotonic() > deadline:
            with fig.lock:
                fig.failures.append("time limit reached before the request was sent")
            return
        t0 = time.perf_counter()
        try:
            call()
        except Exception as exc:  # every failure is counted and named, none stops the load
            with fig.lock:
                fig.failures.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        dt = time.perf_counter() - t0
        with fig.lock:
            fig.latencies.append(dt)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(requests)))
    fig.wall_s = time.perf_counter() - t0
    return fig


def _get_ok(url: str, token: str | None, expect: bytes | None = None) -> Callable[[], None]:
    def call() -> None:
        status, body = _request(url, token=token)
        if status != 200:
            msg = f"GET {url} answered {status}: {body[:200]!r}"
            raise RuntimeError(msg)
        if expect is not None and expect not in body:
            msg = f"GET {url} answered without {expect!r}"
            raise RuntimeError(msg)

    return call


def main(argv: list[str] | None = None) -> int:
    """Run the load and print the table; 1 when any request failed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    ap.add_argument("--requests", type=int, default=200, help="requests per GET endpoint")
    ap.add_argument("--plans", type=int, default=10, help="POST /patrol/plans requests")
    ap.add_argument("--plan-seconds", type=float, default=1.0, help="solver budget per plan")
    ap.add_argument("--limit-s", type=float, default=180.0, help="hard limit of the load")
    ap.add_argument("--data", help="data folder (default: a temporary one)")
    args = ap.parse_args(argv)

    with contextlib.ExitStack() as stack:
        folder = (
            Path(args.data)
            if args.data
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pingan-load-")))
        )
        t_start = time.monotonic()
        server = stack.enter_context(serve_local(folder))
        print(f"server up on {server.url} in {time.monotonic() - t_start:.1f} s")
        name, password = server.users()["dispatcher"]
        token = sign_in(server.url, name, password)
        t0 = time.perf_counter()
        plan = plan_once(server.url, token, seconds=args.plan_seconds)
        print(f"plan {plan} made in {time.perf_counter() - t0:.1f} s")
        base = server.url
        deadline = time.monotonic() + args.limit_s
        # Warm the memoised analyses once so the load measures serving, not first use.
        for url in (f"{base}/maps/overview", f"{base}/maps/patrol/{plan}"):
            _request(url, token=token)
        loads = [
            ("GET /health", _get_ok(f"{base}/health", None), args.requests, args.threads),
            (
                "GET /maps/overview",
                _get_ok(f"{base}/maps/overview", token, b"leaflet"),
                args.requests,
                args.threads,
            ),
            (
                "GET /maps/patrol/{plan}",
                _get_ok(f"{base}/maps/patrol/{plan}", token, b"leaflet"),
                args.requests,
                args.threads,
            ),
            (
                "POST /patrol/plans",
                lambda: None if plan_once(base, token, seconds=args.plan_seconds) else None,
                args.plans,
                # The job runner plans one at a time: more threads only queue.
                min(args.threads, 2),
            ),
        ]
        figures = [
            run_load(n, call, requests=r, threads=t, deadline=deadline) for n, call, r, t in loads
        ]

    base_p50 = figures[0].p(50)
    print()
    head = ("n", "p50 ms", "p95 ms", "req/s", "fail", "p50/health")
    widths = (5, 9, 9, 8, 5, 11)
    print(f"{'endpoint':26} " + " ".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))
    failed = 0
    for f in figures:
        n = len(f.latencies)
        rate = n / f.wall_s if f.wall_s > 0 else float("nan")
        ratio = f.p(50) / base_p50 if base_p50 > 0 else float("nan")
        print(
            f"{f.name:26} {n:5d} {f.p(50):9.1f} {f.p(95):9.1f} {rate:8.1f} "
            f"{len(f.failures):5d} {ratio:11.1f}"
        )
        failed += len(f.failures)
        for msg in sorted(set(f.failures))[:3]:
            print(f"    failure: {msg}")
    print()
    print(
        f"failures: {failed} (target 0); baseline GET /health p50 {base_p50:.1f} ms; "
        f"{args.threads} client threads on {HOST}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
