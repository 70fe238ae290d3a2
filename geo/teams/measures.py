"""What makes a village remote or in need, measured on the area: the raw parts.

For each village of the area: road minutes from the nearest police station and from its
township seat, the km of road in its ground and how much of it is not known to be lit,
the incidents (and disputes among them) of a recent period per resident, and whether an
auxiliary officer serves it. :mod:`geo.teams.score` turns these into one score; keeping
the measuring apart lets a planner re-weight, and a benchmark time the scoring, without
routing again.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.area import Area
from geo.engine import Located
from geo.errors import TeamError
from geo.lighting.inventory import lit_km_by_area
from geo.validate import count, positive

__all__ = ["MEASURE_COLUMNS", "MeasureParams", "measure_villages"]

#: Columns of the measures table, after the village's own (code ... district, lon, lat).
MEASURE_COLUMNS = (
    "station_min",
    "station",
    "station_name",
    "seat_min",
    "seat",
    "road_km",
    "dark_km",
    "unlit_km",
    "incidents",
    "disputes",
    "residents",
    "has_officer",
)
_PLACE = ("code", "name", "kind", "township_code", "township", "district_code", "district")


@dataclass(frozen=True)
class MeasureParams:
    """Options of :func:`measure_villages`.

    Attributes
    ----------
    days
        The incident period: the last ``days`` days up to ``as_of``.
    as_of
        End of the period; default the latest incident of the area, so the same files
        give the same scores whatever day they are scored on.
    persons_per_household
        Residents per household where a village gives households but no population
        (rural Hubei averages about 3).
    dispute_categories
        Incident categories that count as disputes (纠纷), matched case-insensitively.
    mode
        Travel mode of the road minutes (default the area's primary mode).
    """

    days: int = 365
    as_of: pd.Timestamp | None = None
    persons_per_household: float = 3.0
    dispute_categories: tuple[str, ...] = ("dispute", "纠纷", "矛盾纠纷")
    mode: str | None = None

    def __post_init__(self) -> None:
        count("days", self.days, TeamError, low=1)
        positive("persons_per_household", self.persons_per_household, TeamError)


def measure_villages(area: Area, params: MeasureParams | None = None) -> pd.DataFrame:
    """Measure every village of ``area``: one row each, in the layer's order.

    Returns
    -------
    pandas.DataFrame
        The village's ``code``, ``name``, ``kind``, township and district columns,
        ``lon``, ``lat``, then :data:`MEASURE_COLUMNS`: ``station_min`` (road minutes
        from the station or post that reaches it first, NaN when none can) and that
        ``station``'s id and ``station_name``; ``seat_min`` and ``seat`` for its township seat (the
        township's 派出所, else its nearest community committee; NaN and "" where the
        township has neither); ``road_km``, ``dark_km`` (not known to be lit) and
        ``unlit_km`` (tagged unlit) of the roads in its ground (polygon or Voronoi
        cell); ``incidents`` and ``disputes`` in the period; ``residents``
        (population, or households times ``persons_per_household``; NaN when neither
        is known); ``has_officer`` (1.0 / 0.0, NaN when the area has no officers layer).

    Raises
    ------
    TeamError
        If the area has no villages or no stations, or villages without coordinates.
    """
    p = params or MeasureParams()
    if area.villages is None:
        msg = "scoring villages needs a villages layer: give --villages FILE"
        raise TeamError(msg)
    if area.stations is None or not len(area.stations):
        msg = "scoring remoteness needs a stations layer (派出所/警务室): give --stations FILE"
        raise TeamError(msg)
    vil = area.villages
    if vil.geometry.isna().any() or vil.geometry.is_empty.any():
        bad = vil.loc[vil.geometry.isna() | vil.geometry.is_empty, "code"].astype(str)
        msg = (
            f"{len(bad)} village(s) have no coordinates (e.g. {', '.join(bad.head(3))}): "
            "remoteness is measured on the roads, so every village needs a point or polygon"
        )
        raise TeamError(msg)
    out = pd.DataFrame({c: vil[c].to_numpy() for c in _PLACE if c in vil.columns})
    out["lon"], out["lat"] = vil["lon"].to_numpy(), vil["lat"].to_numpy()
    engine = area.engine(p.mode)
    at = engine.locate_geometries(vil.geometry)
    st = area.stations
    near = engine.nearest_facility(at, engine.locate_geometries(st.geometry))
    out["station_min"] = near.minutes
    found = near.facility >= 0
    out["station"] = np.where(found, st["id"].astype(str).to_numpy()[near.facility], "")
    out["station_name"] = np.where(found, st["name"].astype(str).to_numpy()[near.facility], "")
    out["seat_min"], out["seat"] = _seat_minutes(area, at, p.mode)
    lit = lit_km_by_area(area.roads, vil).village
    out["road_km"] = lit["road_km"].to_numpy()
    out["dark_km"] = lit["dark_km"].to_numpy()
    out["unlit_km"] = lit["no_km"].to_numpy()
    out["incidents"], out["disputes"] = _incident_counts(area, p)
    out["residents"] = _residents(vil, p.persons_per_household)
    out["has_officer"] = _has_officer(area)
    return out


def _seat_minutes(area: Area, at: Located, mode: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Return each village's road minutes from its township seat, and the seat's name.

    The seat is where the township's 派出所 stands (stations of kind ``station`` with the
    township's code), else its community committees (居委会/社区 are the seat town's);
    a village reaches the nearest of them.
    """
    vil = area.villages
    assert vil is not None
    st = area.stations
    assert st is not None
    town = vil["township_code"].astype(str).to_numpy()
    cand_town, cand_geom, cand_name = [], [], []
    if "township_code" in st.columns:
        real = (st["kind"].astype(str) == "station").to_numpy() & st["township_code"].notna()
        cand_town += st.loc[real, "township_code"].astype(str).tolist()
        cand_geom += list(st.geometry[real])
        cand_name += st.loc[real, "name"].astype(str).tolist()
    served = set(cand_town)
    comm = (vil["kind"].astype(str) == "community").to_numpy() & ~np.isin(town, list(served))
    cand_town += town[comm].tolist()
    cand_geom += list(vil.geometry[comm])
    cand_name += vil.loc[comm, "name"].astype(str).tolist()
    minutes = np.full(len(vil), np.nan)
    name = np.full(len(vil), "", dtype=object)
    if not cand_town:
        return minutes, name
    engine = area.engine(mode)
    seats = engine.locate_geometries(gpd.GeoSeries(cand_geom, crs=vil.crs))
    table = engine.matrix(seats, at).minutes
    # Only a village's own township's seats count: mask the others, then take the best.
    own = np.asarray(cand_town)[:, None] == town[None, :]
    table = np.where(own, table, np.nan)
    has = np.isfinite(table).any(axis=0)
    best = np.argmin(np.where(np.isfinite(table), table, np.inf), axis=0)
    minutes[has] = table[best[has], np.flatnonzero(has)]
    name[has] = np.asarray(cand_name, dtype=object)[best[has]]
    return minutes, name


def _incident_counts(area: Area, p: MeasureParams) -> tuple[np.ndarray, np.ndarray]:
    """Count each village's incidents (and disputes) of the period, in its ground."""
    vil = area.villages
    assert vil is not None
    n = len(vil)
    inc = area.incidents
    if inc is None or not len(inc):
        return np.full(n, np.nan), np.full(n, np.nan)
    t = pd.to_datetime(inc["time"])
    end = t.max() if p.as_of is None else pd.Timestamp(p.as_of)
    if end.tzinfo is None and t.dt.tz is not None:
        end = end.tz_localize(t.dt.tz)
    # as_of is inclusive: the period is the ``days`` days ending at it.
    keep = ((t > end - pd.Timedelta(days=p.days)) & (t <= end)).to_numpy()
    inc = inc.loc[keep]
    if not len(inc):
        return np.zeros(n), np.zeros(n)
    ground = area.village_shapes().reset_index(drop=True)
    pts = gpd.GeoDataFrame(geometry=inc.geometry.to_numpy(), crs=inc.crs)
    # Inside a polygon the distance is 0; points go to the nearest village point (its
    # Voronoi cell, the rule that splits road km between villages too).
    hit = gpd.sjoin_nearest(pts, ground[["geometry"]], how="left")
    hit = hit[~hit.index.duplicated(keep="first")]
    row = hit["index_right"].to_numpy().astype(np.int64)
    cats = {c.casefold() for c in p.dispute_categories}
    dispute = inc["category"].astype(str).str.casefold().isin(cats).to_numpy()
    return (
        np.bincount(row, minlength=n).astype(float),
        np.bincount(row, weights=dispute.astype(float), minlength=n),
    )


def _residents(vil: gpd.GeoDataFrame, per_household: float) -> np.ndarray:
    pop = (
        pd.to_numeric(vil["population"], errors="coerce").to_numpy(float)
        if "population" in vil.columns
        else np.full(len(vil), np.nan)
    )
    if "households" in vil.columns:
        hh = pd.to_numeric(vil["households"], errors="coerce").to_numpy(float)
        pop = np.where(np.isnan(pop), hh * per_household, pop)
    return pop


def _has_officer(area: Area) -> np.ndarray:
    vil = area.villages
    assert vil is not None
    off = area.officers
    if off is None:
        return np.full(len(vil), np.nan)
    served = set(off["village_code"].dropna().astype(str))
    return vil["code"].astype(str).isin(served).to_numpy().astype(float)
