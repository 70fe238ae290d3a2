"""An urban district for the synthetic province: a dense street lattice, communities.

A province is not all villages: its cities hold most of its road nodes and few
villagers' committees (Wuhan's seven central districts have none). The sample tiles
are rural, about 40 road nodes per village, so a province of tiles alone has far fewer
nodes per village than a real one. An urban district fills that gap: a street lattice
over its whole box (junctions ``spacing_m`` apart, jittered, a few links missing,
avenues every eighth line, mostly lit), residents' communities on a coarser grid, a
police station every few kilometres, and incidents spread over the streets.

Everything is drawn from the ``rng`` it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["City", "draw_city"]

_M_PER_DEG = 111_320.0
_AVENUE_EVERY = 8
_DROP_LINK = 0.06
_COMMUNITY_M = 4_000.0
_STATION_M = 9_000.0


@dataclass(frozen=True)
class City:
    """The OSM lines of one urban district and its layer rows (lon/lat in degrees)."""

    node_lines: list[str]
    way_lines: list[str]
    node_ids: np.ndarray
    node_lonlat: np.ndarray
    communities: list[tuple[str, float, float, int]]  # name, lon, lat, population
    stations: list[tuple[str, float, float]]  # name, lon, lat
    incidents: np.ndarray  # (n, 2) lon, lat


def draw_city(
    rng: np.random.Generator,
    bounds: tuple[float, float, float, float],
    *,
    spacing_m: float,
    first_node: int,
    first_way: int,
    n_incidents: int,
    name: str,
) -> City:
    """Draw the urban district filling ``bounds`` (W, S, E, N degrees)."""
    w, s, e, n = bounds
    lat0 = (s + n) / 2
    mx = _M_PER_DEG * np.cos(np.radians(lat0))
    width, height = (e - w) * mx, (n - s) * _M_PER_DEG
    # Junctions stay clear of the box's edge so the roads of the next tile meet them.
    nx, ny = int(width // spacing_m), int(height // spacing_m)
    gx = (np.arange(nx) + 0.5) * (width / nx)
    gy = (np.arange(ny) + 0.5) * (height / ny)
    x = gx[None, :] + rng.uniform(-0.2, 0.2, (ny, nx)) * spacing_m
    y = gy[:, None] + rng.uniform(-0.2, 0.2, (ny, nx)) * spacing_m
    lon = w + x / mx
    lat = s + y / _M_PER_DEG
    ids = first_node + np.arange(nx * ny).reshape(ny, nx)
    node_lines = [
        f'  <node id="{i}" lat="{la:.7f}" lon="{lo:.7f}" version="1"/>'
        for i, la, lo in zip(ids.ravel(), lat.ravel(), lon.ravel(), strict=True)
    ]
    way_lines: list[str] = []
    way = first_way

    def street(refs: list[int], avenue: bool, k: int, across: bool) -> None:
        nonlocal way
        if len(refs) < 2:
            return
        hw = "secondary" if avenue else "residential"
        lit = "yes" if avenue or rng.random() < 0.85 else "no"
        label = (
            f"{name}{'大道' if avenue else '路'}{k + 1}"
            if across
            else f"{name}{'大街' if avenue else '街'}{k + 1}"
        )
        way_lines.append(f'  <way id="{way}" version="1">')
        way_lines.extend(f'    <nd ref="{r}"/>' for r in refs)
        way_lines.append(f'    <tag k="highway" v="{hw}"/>')
        way_lines.append(f'    <tag k="lit" v="{lit}"/>')
        way_lines.append(f'    <tag k="name" v="{label}"/>')
        way_lines.append("  </way>")
        way += 1

    for j in range(ny):
        avenue = j % _AVENUE_EVERY == 0
        keep = avenue | (rng.random(nx - 1) >= _DROP_LINK)
        _pieces(ids[j].tolist(), keep, lambda r, j=j, a=avenue: street(r, a, j, False))
    for i in range(nx):
        avenue = i % _AVENUE_EVERY == 0
        keep = avenue | (rng.random(ny - 1) >= _DROP_LINK)
        _pieces(ids[:, i].tolist(), keep, lambda r, i=i, a=avenue: street(r, a, i, True))
    communities = []
    for k, (cx, cy) in enumerate(_grid(width, height, _COMMUNITY_M, rng)):
        pop = int(rng.integers(4_000, 12_000))
        communities.append((f"{name}第{k + 1}社区", w + cx / mx, s + cy / _M_PER_DEG, pop))
    stations = [
        (f"{name}第{k + 1}派出所", w + cx / mx, s + cy / _M_PER_DEG)
        for k, (cx, cy) in enumerate(_grid(width, height, _STATION_M, rng))
    ]
    pick = rng.integers(0, nx * ny, n_incidents)
    inc = np.column_stack([lon.ravel()[pick], lat.ravel()[pick]])
    inc += rng.normal(0, 30, inc.shape) / np.array([mx, _M_PER_DEG])
    return City(
        node_lines=node_lines,
        way_lines=way_lines,
        node_ids=ids.ravel(),
        node_lonlat=np.column_stack([lon.ravel(), lat.ravel()]),
        communities=communities,
        stations=stations,
        incidents=inc,
    )


def _pieces(refs: list[int], keep: np.ndarray, emit: object) -> None:
    """Emit the runs of a lattice line between its missing links."""
    run = [refs[0]]
    for r, k in zip(refs[1:], keep, strict=True):
        if k:
            run.append(r)
        else:
            emit(run)  # type: ignore[operator]
            run = [r]
    emit(run)  # type: ignore[operator]


def _grid(
    width: float, height: float, step: float, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """Points on a jittered grid of ``step`` metres over the box."""
    nx, ny = max(1, int(width // step)), max(1, int(height // step))
    out = []
    for j in range(ny):
        for i in range(nx):
            out.append(
                (
                    (i + 0.5 + rng.uniform(-0.25, 0.25)) * width / nx,
                    (j + 0.5 + rng.uniform(-0.25, 0.25)) * height / ny,
                )
            )
    return out
