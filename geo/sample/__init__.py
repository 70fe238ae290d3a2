"""Generate the embedded synthetic sample district, deterministically.

The sample is an invented rural district on the northern edge of Wuhan (think north
Huangpi: paddy plain in the south, low hills in the north, a village every one to two
kilometres, a county road strung through three township seats). It is the default input
of ``make demo``, of the docs and of the tests, so it carries everything the later
analyses need: a routable OSM road network with lit/unlit tags, villages with
population, police stations, vanguard teams, auxiliary officers, a year of incidents and
the ground truth of four planted hotspots.

Everything is drawn from one ``numpy.random.default_rng(seed)`` stream in a fixed order
and written with fixed float formatting, so one seed always gives byte-identical files.
The auxiliary officers, added later, draw from a generator of their own (seeded with
``[seed, 12]``), so the layers drawn before them stayed as they were.

The generator lives in one module per concern: :mod:`~geo.sample.district` fixes the
draw order, :mod:`~geo.sample.places`, :mod:`~geo.sample.skeleton`,
:mod:`~geo.sample.roads`, :mod:`~geo.sample.tags`, :mod:`~geo.sample.units` and
:mod:`~geo.sample.incidents` draw the parts, and :mod:`~geo.sample.writers` serialises
and writes them. :mod:`~geo.sample.roads` explains how the road network is built.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from geo.atomic import write_text
from geo.errors import SampleError
from geo.sample.district import build_district
from geo.sample.frame import (
    N_VILLAGES_RANGE,
    SAMPLE_BOUNDS,
    SAMPLE_DISTRICT_CODE,
    SAMPLE_DISTRICT_NAME,
    SAMPLE_YEAR,
    SYNTHETIC_LABEL,
)
from geo.sample.writers import FILE_NAMES, SampleFiles, write_atomically
from geo.sample.writers import write_incidents as _write_incidents

__all__ = [
    "MANIFEST",
    "N_VILLAGES_RANGE",
    "SAMPLE_BOUNDS",
    "SAMPLE_DISTRICT_CODE",
    "SAMPLE_DISTRICT_NAME",
    "SAMPLE_YEAR",
    "SYNTHETIC_LABEL",
    "SampleFiles",
    "ensure_sample",
    "generate_sample",
]

#: Name of the manifest that lets :func:`ensure_sample` reuse a sample already written.
MANIFEST = ".pingan-sample.json"


def generate_sample(
    out_dir: str | Path,
    *,
    seed: int = 2023,
    n_villages: int = 90,
    n_incidents: int = 5000,
) -> SampleFiles:
    """Write the synthetic sample district into ``out_dir``.

    The same arguments always produce byte-identical files; different seeds give
    different districts. The roads, villages, stations and teams depend only on ``seed``
    and ``n_villages``, so ``n_incidents`` can be lowered for quick runs without changing
    the map. Files are first written under temporary names and only moved into place
    once all of them are complete, so a failed run leaves no partial file.

    Parameters
    ----------
    out_dir
        Folder to write into; created if missing. Existing sample files are replaced.
    seed
        Seed of the random generator (a non-negative integer).
    n_villages
        Number of villagers' committees, within :data:`N_VILLAGES_RANGE`.
    n_incidents
        Number of incidents over the sample year (a positive integer).

    Returns
    -------
    SampleFiles
        The written paths and the seed.

    Raises
    ------
    SampleError
        If a parameter is out of range or ``out_dir`` is not a folder.
    """
    _check_int("seed", seed, low=0)
    _check_int("n_villages", n_villages, low=N_VILLAGES_RANGE[0], high=N_VILLAGES_RANGE[1])
    _check_int("n_incidents", n_incidents, low=1)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        msg = f"out_dir {str(out)!r} exists and is not a directory"
        raise SampleError(msg)

    contents = build_district(int(seed), int(n_villages), int(n_incidents))

    out.mkdir(parents=True, exist_ok=True)
    files = _files(out, int(seed))
    # The GeoPackage writer is looked up here, at call time, so that a test can swap in
    # a failing one through ``geo.sample._write_incidents``.
    write_atomically(contents, files, write_gpkg=_write_incidents)
    return files


def ensure_sample(out_dir: str | Path, *, seed: int = 2023) -> SampleFiles:
    """Return the sample in ``out_dir``, writing it only when it is missing or stale.

    Every command on the sample district would otherwise regenerate it (most of a quick
    command's time). A manifest records the seed, the generator's own source digest and
    each file's SHA-256; any difference (another seed, an edited file, a changed
    generator) writes the sample anew, so what is reused is byte for byte what
    :func:`generate_sample` would write.
    """
    out = Path(out_dir)
    key = {"seed": int(seed), "generator": _generator_digest()}
    manifest = out / MANIFEST
    files = _files(out, int(seed))
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
        fresh = recorded.get("key") == key and all(
            _sha256(p) == recorded["files"].get(p.name) for p in files.paths
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        fresh = False
    if fresh:
        return files
    files = generate_sample(out, seed=seed)
    write_text(
        manifest,
        json.dumps({"key": key, "files": {p.name: _sha256(p) for p in files.paths}}, indent=1),
    )
    return files


def _files(out: Path, seed: int) -> SampleFiles:
    return SampleFiles(
        roads=out / FILE_NAMES["roads"],
        villages=out / FILE_NAMES["villages"],
        groups=out / FILE_NAMES["groups"],
        boundaries=out / FILE_NAMES["boundaries"],
        stations=out / FILE_NAMES["stations"],
        teams=out / FILE_NAMES["teams"],
        officers=out / FILE_NAMES["officers"],
        incidents=out / FILE_NAMES["incidents"],
        hotspots_truth=out / FILE_NAMES["hotspots_truth"],
        readme=out / FILE_NAMES["readme"],
        seed=seed,
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _generator_digest() -> str:
    # The generator's own code decides the bytes, so any edit to it invalidates a sample.
    h = hashlib.sha256()
    for src in sorted(Path(__file__).parent.glob("*.py")):
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def _check_int(name: str, value: object, *, low: int, high: int | None = None) -> None:
    # bool is an int subclass, but True villages is a bug, not a count.
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"{name} must be an integer, got {value!r}"
        raise SampleError(msg)
    if high is None and value < low:
        msg = f"{name} must be an integer >= {low}, got {value}"
        raise SampleError(msg)
    if high is not None and not low <= value <= high:
        msg = f"{name} must be an integer in {low}..{high}, got {value}"
        raise SampleError(msg)
