"""Generate the embedded synthetic sample district, deterministically.

The sample is an invented rural district on the northern edge of Wuhan (think north
Huangpi: paddy plain in the south, low hills in the north, a village every one to two
kilometres, a county road strung through three township seats). It is the default input
of ``make demo``, of the docs and of the tests, so it carries everything the later
analyses need: a routable OSM road network with lit/unlit tags, villages with
population, police stations, vanguard teams, a year of incidents and the ground truth of
four planted hotspots.

Everything is drawn from one ``numpy.random.default_rng(seed)`` stream in a fixed order
and written with fixed float formatting, so one seed always gives byte-identical files.

The generator lives in one module per concern: :mod:`~geo.sample.district` fixes the
draw order, :mod:`~geo.sample.places`, :mod:`~geo.sample.skeleton`,
:mod:`~geo.sample.roads`, :mod:`~geo.sample.tags`, :mod:`~geo.sample.units` and
:mod:`~geo.sample.incidents` draw the parts, and :mod:`~geo.sample.writers` serialises
and writes them. :mod:`~geo.sample.roads` explains how the road network is built.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
    "N_VILLAGES_RANGE",
    "SAMPLE_BOUNDS",
    "SAMPLE_DISTRICT_CODE",
    "SAMPLE_DISTRICT_NAME",
    "SAMPLE_YEAR",
    "SYNTHETIC_LABEL",
    "SampleFiles",
    "generate_sample",
]


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
    files = SampleFiles(
        roads=out / FILE_NAMES["roads"],
        villages=out / FILE_NAMES["villages"],
        stations=out / FILE_NAMES["stations"],
        teams=out / FILE_NAMES["teams"],
        incidents=out / FILE_NAMES["incidents"],
        hotspots_truth=out / FILE_NAMES["hotspots_truth"],
        readme=out / FILE_NAMES["readme"],
        seed=int(seed),
    )
    # The GeoPackage writer is looked up here, at call time, so that a test can swap in
    # a failing one through ``geo.sample._write_incidents``.
    write_atomically(contents, files, write_gpkg=_write_incidents)
    return files


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
