"""Hot spots through time: the Mann-Kendall trend test and emerging hot spots.

:func:`emerging_hotspots` follows each cell's Gi* status period by period, after ESRI's
Emerging Hot Spot Analysis, and names its pattern (:data:`PATTERNS`); it raises when the
period asked for gives fewer than 3 periods. :func:`emerging_hotspots_auto` picks the
period itself (:func:`choose_trend_period`) and, when even weeks are too long for the
span, returns :class:`TrendsSkipped` with the reason instead of raising.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from geo.errors import HotspotError
from geo.hotspots._checks import (
    AreaLike,
    FloatArray,
    IntArray,
    area_geometry,
    check_alpha,
    check_incidents,
    incident_xy,
    require_columns,
)
from geo.hotspots.budget import DEFAULT_MAX_MEMORY_GB
from geo.hotspots.gistar import classify, fdr_bh, gi_bin, lattice_gi_star
from geo.hotspots.lattice import CellCounts, CellShape, cells_frame, lattice_and_index
from geo.results import Result, jsonable
from geo.validate import count, metric_crs, positive

__all__ = [
    "AUTO_PERIODS",
    "MIN_PERIODS",
    "PATTERNS",
    "PERSISTENT_SHARE",
    "TARGET_PERIODS",
    "EmergingHotspots",
    "PeriodChoice",
    "TrendTest",
    "TrendsSkipped",
    "choose_trend_period",
    "emerging_hotspots",
    "emerging_hotspots_auto",
    "mann_kendall",
]

#: Every value of the ``pattern`` column of :func:`emerging_hotspots`.
PATTERNS: Final = ("new", "intensifying", "persistent", "diminishing", "sporadic", "no pattern")

#: Share of periods a cell must be hot in to count as persistently hot (ESRI's 90 %).
PERSISTENT_SHARE: Final = 0.9

# Gi* z-series are rounded before the Mann-Kendall test so that periods whose z differ
# only by floating-point noise count as ties rather than as a trend.
_MK_DECIMALS: Final = 9
#: Fewest periods emerging hot spots (and the Mann-Kendall test) can work with.
MIN_PERIODS: Final = 3
_MIN_PERIODS: Final = MIN_PERIODS
#: Periods :func:`choose_trend_period` tries, coarsest first: quarters, months, weeks.
AUTO_PERIODS: Final = ("Q", "M", "W")
#: Periods ESRI recommends for Emerging Hot Spot Analysis ("10 or more").
TARGET_PERIODS: Final = 10
# Words for the period aliases in messages (singular, plural); others print as aliases.
_PERIOD_WORDS: Final = {
    "Y": ("year", "years"),
    "Q": ("quarter", "quarters"),
    "M": ("month", "months"),
    "W": ("week", "weeks"),
    "D": ("day", "days"),
}
# Mann-Kendall compares every pair of periods of every cell; past this many comparisons
# (a minute or so of work) the period is surely too short for the span.
_MAX_MK_PAIRS: Final = 5e9

#: Columns :func:`emerging_hotspots` adds to the cell table.
EMERGING_COLUMNS: Final = (
    "z",
    "p",
    "p_fdr",
    "class",
    "gi_bin",
    "n_periods",
    "n_hot",
    "n_cold",
    "hot_final",
    "trend_tau",
    "trend_z",
    "trend_p",
    "trend",
    "pattern",
)


@dataclass(frozen=True, eq=False)
class TrendTest(Result):
    """Mann-Kendall trend test of series along their last axis.

    ``s`` is Kendall's S (concordant minus discordant pairs against time), ``tau`` the
    rank correlation with time (tau-b: equal to tau-a without ties and to
    ``scipy.stats.kendalltau(t, x)``'s statistic with them), ``var_s`` the tie-corrected
    variance of S, ``z = (S - sign(S)) / sqrt(var_s)`` (with continuity correction) and
    ``p`` its two-sided normal p-value.
    """

    s: FloatArray
    tau: FloatArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray

    def _check(self) -> None:
        """Raise unless every array has one shape."""
        shapes = {a.shape for a in (self.s, self.tau, self.var_s, self.z, self.p)}
        if len(shapes) != 1:
            msg = f"TrendTest arrays disagree in shape: {sorted(shapes)}"
            raise HotspotError(msg)

    def to_dict(self) -> dict[str, Any]:
        """Return the test's arrays as JSON-ready data (one series gives plain numbers)."""
        # A single series gives 0-d arrays, which jsonable cannot iterate: tolist() turns
        # them into numbers and larger arrays into nested lists alike.
        out: dict[str, Any] = {"kind": type(self).__name__}
        for f in dataclasses.fields(self):
            out[f.name] = jsonable(np.asarray(getattr(self, f.name)).tolist())
        return out


@dataclass(frozen=True, eq=False)
class EmergingHotspots(CellCounts):
    """Cells classed by how their hot-spot status evolved (see :func:`emerging_hotspots`).

    ``cells`` holds the :class:`CellCounts` columns (``count`` over all periods) and the
    trend columns; ``periods`` names the ``period``-long time steps, oldest first.
    """

    periods: tuple[str, ...]
    period: str
    alpha: float
    n_quiet: int = 0

    def _check(self) -> None:
        """Raise unless counts add up, periods match the cells and patterns are known."""
        super()._check()
        cells = self._frame("cells")
        require_columns(cells, EMERGING_COLUMNS, "EmergingHotspots.cells")
        check_alpha(self.alpha)
        n_t = len(self.periods)
        if n_t < _MIN_PERIODS:
            msg = f"EmergingHotspots needs at least {_MIN_PERIODS} periods, got {n_t}"
            raise HotspotError(msg)
        if not (cells["n_periods"] == n_t).all():
            msg = f"EmergingHotspots.cells n_periods disagrees with the {n_t} periods"
            raise HotspotError(msg)
        if ((cells["n_hot"] + cells["n_cold"]) > n_t).any():
            msg = "EmergingHotspots.cells has more hot plus cold periods than periods"
            raise HotspotError(msg)
        unknown = sorted(set(cells["pattern"].unique()) - set(PATTERNS))
        if unknown:
            msg = f"EmergingHotspots.cells has unknown patterns {unknown}"
            raise HotspotError(msg)

    def _extra_meta(self) -> dict[str, Any]:
        patterns = self._frame("cells")["pattern"].value_counts()
        return {
            **super()._extra_meta(),
            "n_quiet": self.n_quiet,
            "patterns": {p: int(patterns.get(p, 0)) for p in PATTERNS},
        }


def _check_counts(n_periods: Mapping[str, int], what: str) -> None:
    if not n_periods or any(
        not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in n_periods.values()
    ):
        msg = f"{what}.n_periods must map each period tried to a count >= 1, got {n_periods!r}"
        raise HotspotError(msg)


@dataclass(frozen=True, eq=False)
class PeriodChoice(Result):
    """The trend period :func:`choose_trend_period` picked for a span of incidents, and why.

    ``period`` is the alias chosen, None when none gives ``min_periods``; ``n_periods``
    maps each alias tried, in order, to the periods it gives from the ``first``
    incident's to the ``last``'s; ``reason`` says it in words.
    """

    period: str | None
    reason: str
    n_periods: Mapping[str, int]
    first: pd.Timestamp
    last: pd.Timestamp
    min_periods: int
    target_periods: int

    def _check(self) -> None:
        """Raise unless the period chosen was tried and gives at least ``min_periods``."""
        _check_counts(self.n_periods, "PeriodChoice")
        if self.period is not None and self.n_periods.get(self.period, 0) < self.min_periods:
            msg = (
                f"PeriodChoice picked {self.period!r}, which gives fewer than "
                f"{self.min_periods} periods"
            )
            raise HotspotError(msg)
        if self.period is None and max(self.n_periods.values()) >= self.min_periods:
            msg = f"PeriodChoice picked no period, yet one gives {self.min_periods} or more"
            raise HotspotError(msg)
        if self.last < self.first:
            msg = "PeriodChoice last incident is before the first"
            raise HotspotError(msg)

    @property
    def skipped(self) -> bool:
        """True when no period gives enough periods: trends cannot be computed."""
        return self.period is None


@dataclass(frozen=True, eq=False)
class TrendsSkipped(Result):
    """Why :func:`emerging_hotspots_auto` computed no trends: the span is too short.

    ``reason`` is a sentence for a report (``f"trends skipped: {r.reason}"``);
    ``n_periods`` maps each period alias tried to the periods it gives over the span from
    ``first`` to ``last`` incident, all fewer than ``min_periods``; ``n_incidents`` were
    given.
    """

    reason: str
    n_periods: Mapping[str, int]
    first: pd.Timestamp
    last: pd.Timestamp
    n_incidents: int
    min_periods: int = MIN_PERIODS

    def _check(self) -> None:
        """Raise unless every period tried really gives too few periods."""
        _check_counts(self.n_periods, "TrendsSkipped")
        if max(self.n_periods.values()) >= self.min_periods:
            msg = f"TrendsSkipped, yet a period gives {self.min_periods} or more: {self.n_periods}"
            raise HotspotError(msg)
        if not self.reason:
            msg = "TrendsSkipped needs a reason"
            raise HotspotError(msg)


def mann_kendall(series: npt.ArrayLike) -> TrendTest:
    """Test series for a monotonic trend over time (Mann 1945; Kendall 1975).

    Parameters
    ----------
    series
        Values in time order along the last axis: ``(T,)`` or ``(n, T)`` for ``n``
        series at once.

    Returns
    -------
    TrendTest
        Arrays of shape ``series.shape[:-1]``.

    Raises
    ------
    HotspotError
        If there are fewer than 3 time steps or values are not finite.

    Notes
    -----
    ``var_s = (T(T-1)(2T+5) - sum_g t_g(t_g-1)(2t_g+5)) / 18`` where ``t_g`` are the sizes
    of groups of tied values. A series that is constant has ``var_s = 0``, z 0 and p 1.
    Computed for all series at once with one pass per time lag, so ``T`` (periods), not
    the number of series, sets the loop length.
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] < _MIN_PERIODS:
        msg = f"the Mann-Kendall test needs at least {_MIN_PERIODS} time steps, got shape {x.shape}"
        raise HotspotError(msg)
    if not np.isfinite(x).all():
        msg = "Mann-Kendall series must be finite"
        raise HotspotError(msg)
    t = x.shape[-1]
    flat = x.reshape(-1, t)
    s = np.zeros(len(flat))
    for lag in range(1, t):
        s += np.sign(flat[:, lag:] - flat[:, :-lag]).sum(axis=1)
    # Tie groups per series: runs of equal values in each sorted row.
    srt = np.sort(flat, axis=1)
    new_run = np.ones_like(srt, dtype=bool)
    new_run[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = np.cumsum(new_run.ravel()) - 1
    run_len = np.bincount(run_id).astype(np.float64)
    run_row = np.repeat(np.arange(len(flat)), new_run.sum(axis=1))
    ties = np.bincount(
        run_row, weights=run_len * (run_len - 1) * (2 * run_len + 5), minlength=len(flat)
    )
    ties_pairs = np.bincount(run_row, weights=run_len * (run_len - 1) / 2, minlength=len(flat))
    var_s = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    pairs = t * (t - 1) / 2.0
    denom = np.sqrt((pairs - ties_pairs) * pairs)
    tau = np.divide(s, denom, out=np.zeros_like(s), where=denom > 0)
    z = np.divide(s - np.sign(s), np.sqrt(var_s), out=np.zeros_like(s), where=var_s > 0)
    p = special.erfc(np.abs(z) / math.sqrt(2.0))
    shape = x.shape[:-1]
    return TrendTest(
        s=s.reshape(shape),
        tau=tau.reshape(shape),
        var_s=var_s.reshape(shape),
        z=z.reshape(shape),
        p=p.reshape(shape),
    )


def _period_ordinals(times: pd.Series[Any], period: str) -> tuple[IntArray, pd.PeriodIndex]:
    if not pd.api.types.is_datetime64_any_dtype(times.dtype):
        msg = f"incident 'time' column must hold datetimes, not {times.dtype}"
        raise HotspotError(msg)
    if times.isna().any():
        msg = "incident times include missing values"
        raise HotspotError(msg)
    # Periods follow local calendar time; dropping the zone first avoids pandas' warning
    # and keeps a month boundary at local midnight.
    local = times.dt.tz_localize(None) if getattr(times.dtype, "tz", None) is not None else times
    try:
        per = pd.PeriodIndex(local, freq=period)
    except (ValueError, TypeError) as exc:
        msg = (
            f"unknown period {period!r} (use a pandas period alias: 'D', 'W', 'M', 'Q', 'Y'): {exc}"
        )
        raise HotspotError(msg) from None
    ords = per.asi8
    first = int(np.min(ords))
    index = pd.period_range(start=per.min(), end=per.max(), freq=per.freq)
    return (ords - first).astype(np.int64), index


def emerging_hotspots(
    incidents: gpd.GeoDataFrame,
    *,
    cell_size: float,
    period: str = "M",
    alpha: float = 0.05,
    shape: CellShape = "square",
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
    keep_quiet: bool = True,
    max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
) -> EmergingHotspots:
    """Classify cells by how their hot-spot status evolved, after ESRI's Emerging Hot Spots.

    Incidents are counted per cell and per calendar period (a space-time cube; the cells
    are fixed over the whole span, every period from the first incident's to the last's
    is kept, empty ones too). Gi* runs on each period's counts with the cell's queen
    neighbours, and its p-values are FDR-adjusted within the period. A Mann-Kendall
    test on each cell's Gi* z-series, as ESRI does, measures whether clustering is
    intensifying or fading.

    Parameters
    ----------
    incidents
        Incidents with a ``time`` column, in a projected metric CRS.
    cell_size, shape, bounds, area
        As for :func:`~geo.hotspots.grid_counts`.
    period
        pandas period alias of a time step: ``"W"``, ``"M"``, ``"Q"``, ``"Y"``...; at
        least 3 periods are needed, and ESRI recommends 10 or more.
    alpha
        Significance level of the per-period hot/cold test (after FDR) and of the trend.
    keep_quiet
        False leaves out the quiet cells (no incident in any period, never hot or cold,
        no class in the final period, ``"no pattern"``), counted in ``n_quiet``.
    max_memory_gb
        Refuse, before allocating, a space-time cube whose arrays would need more
        (:func:`~geo.hotspots.lattice_memory`).

    Returns
    -------
    EmergingHotspots
        ``cells``: the :func:`~geo.hotspots.grid_counts` columns (``count`` over all
        periods), then ``z``, ``p``, ``p_fdr``, ``class``, ``gi_bin`` of the **final**
        period; ``n_periods``, ``n_hot``/``n_cold`` (periods significantly hot/cold),
        ``hot_final``, ``trend_tau``, ``trend_z``, ``trend_p``, ``trend`` (``"up"``,
        ``"down"`` or ``"none"`` at ``alpha``) and ``pattern``, one of :data:`PATTERNS`.
        ``periods`` lists the periods as strings; ``n_outside`` counts incidents in no
        cell.

    Raises
    ------
    HotspotError
        As :func:`~geo.hotspots.grid_counts`, or for an unknown period alias, fewer than
        3 periods or a missing ``time`` column.

    Notes
    -----
    ``pattern`` follows the definitions of ESRI's "How Emerging Hot Spot Analysis
    works" (ArcGIS Pro documentation), evaluated in this order, with "hot" meaning
    ``z > 0`` and ``p_fdr <= alpha`` in a period and ``T`` the number of periods:

    1. ``"new"``: hot in the final period and in no earlier one.
    2. ``"intensifying"``: hot in at least 90 % of periods, including the final one,
       with a significant upward trend (Mann-Kendall ``p <= alpha``, ``z > 0``).
    3. ``"diminishing"``: the same with a significant downward trend.
    4. ``"persistent"``: hot in at least 90 % of periods with no significant trend.
    5. ``"sporadic"``: hot in some periods but fewer than 90 %, and never cold.
    6. ``"no pattern"``: everything else.

    Unlike ESRI, the Gi* neighbourhood is spatial only (ESRI's default also adds the
    previous time step), and ESRI's consecutive, oscillating and historical hot spots
    and the cold-spot patterns are not separated out: a consecutive run at the end is
    "sporadic", oscillating cells (ever cold) and a >= 90 % hot cell that is not hot in
    the final period but has a significant trend are "no pattern".
    """
    inc = check_incidents(incidents)
    a = check_alpha(alpha)
    if "time" not in inc.columns:
        msg = "incidents lack a 'time' column, needed for emerging hot spots"
        raise HotspotError(msg)
    cell = positive("cell_size", cell_size, HotspotError)
    crs = metric_crs(inc.crs, "incidents", HotspotError)
    x, y = incident_xy(inc, "incidents")
    t_idx, periods = _period_ordinals(inc["time"], period)
    n_t = len(periods)
    if n_t < _MIN_PERIODS:
        msg = (
            f"emerging hot spots need at least {_MIN_PERIODS} periods of {period!r}, "
            f"the incidents span {n_t} (emerging_hotspots_auto picks a period that fits)"
        )
        raise HotspotError(msg)
    poly = area_geometry(area, crs) if area is not None else None
    lat, idx = lattice_and_index(
        x,
        y,
        cell,
        shape,
        bounds,
        poly,
        max_memory_gb=max_memory_gb,
        keep_quiet=keep_quiet,
        n_periods=n_t,
    )
    n_cells = len(lat.row)
    if n_cells * n_t * (n_t - 1) / 2 > _MAX_MK_PAIRS:
        msg = (
            f"{n_t} periods of {period!r} over {n_cells:,} cells is too many for the trend "
            "test; use a longer period or larger cells"
        )
        raise HotspotError(msg)
    inside = idx >= 0
    counts = np.bincount(idx[inside] * n_t + t_idx[inside], minlength=n_cells * n_t)
    cube = counts.reshape(n_cells, n_t).astype(np.float64)
    total = cube.sum(axis=1).astype(np.int64)

    gi = lattice_gi_star(lat.row, lat.col, lat.shape, cube)
    del cube
    p_fdr = fdr_bh(gi.p, a).p_adj
    hot = (gi.z > 0) & (p_fdr <= a)
    cold = (gi.z < 0) & (p_fdr <= a)
    n_hot = hot.sum(axis=1)
    n_cold = cold.sum(axis=1)
    hot_final = hot[:, -1]
    trend = mann_kendall(np.round(gi.z, _MK_DECIMALS))
    up = (trend.p <= a) & (trend.z > 0)
    down = (trend.p <= a) & (trend.z < 0)
    mostly_hot = n_hot >= PERSISTENT_SHARE * n_t - 1e-9

    pattern = np.select(
        [
            hot_final & (n_hot == 1),
            mostly_hot & hot_final & up,
            mostly_hot & hot_final & down,
            mostly_hot & ~up & ~down,
            (n_hot > 0) & ~mostly_hot & (n_cold == 0),
        ],
        ["new", "intensifying", "diminishing", "persistent", "sporadic"],
        default="no pattern",
    )
    z_final, p_final, q_final = gi.z[:, -1], gi.p[:, -1], p_fdr[:, -1]
    bin_final = gi_bin(z_final, q_final)
    # Quiet: no incident in any period, never hot or cold, no class now, no pattern.
    quiet = (total == 0) & (n_hot == 0) & (n_cold == 0) & (bin_final == 0)
    quiet &= pattern == "no pattern"
    rows = None if keep_quiet else np.flatnonzero(~quiet)

    def pick(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return a if rows is None else a[rows]

    out = cells_frame(lat, crs, rows)
    out["count"] = pick(total)
    out["z"] = pick(z_final)
    out["p"] = pick(p_final)
    out["p_fdr"] = pick(q_final)
    out["class"] = pd.array(classify(pick(z_final), pick(q_final)), dtype="str")
    out["gi_bin"] = pick(bin_final)
    out["n_periods"] = n_t
    out["n_hot"] = pick(n_hot.astype(np.int64))
    out["n_cold"] = pick(n_cold.astype(np.int64))
    out["hot_final"] = pick(hot_final)
    out["trend_tau"] = pick(trend.tau)
    out["trend_z"] = pick(trend.z)
    out["trend_p"] = pick(trend.p)
    trend_word = np.select([up, down], ["up", "down"], default="none")
    out["trend"] = pd.array(pick(trend_word), dtype="str")
    out["pattern"] = pd.array(pick(pattern), dtype="str")
    return EmergingHotspots(
        cells=out,
        shape=lat.shape,
        cell_size=cell,
        n_points=len(x),
        n_outside=int((~inside).sum()),
        periods=tuple(str(p) for p in periods),
        period=period,
        alpha=a,
        n_quiet=0 if keep_quiet else int(quiet.sum()),
    )


def _period_word(alias: str, n: int) -> str:
    one, many = _PERIOD_WORDS.get(alias, (f"period of {alias!r}", f"periods of {alias!r}"))
    return one if n == 1 else many


def _periods_text(alias: str, n: int) -> str:
    return f"{n} {_period_word(alias, n)}"


def _span_text(first: pd.Timestamp, last: pd.Timestamp) -> str:
    days = (last.normalize() - first.normalize()).days + 1
    dates = f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
    return f"{days} day{'s' if days != 1 else ''} ({dates})"


def choose_trend_period(
    incidents: gpd.GeoDataFrame | pd.Series[Any],
    *,
    periods: Sequence[str] = AUTO_PERIODS,
    min_periods: int = MIN_PERIODS,
    target_periods: int = TARGET_PERIODS,
) -> PeriodChoice:
    """Pick the coarsest calendar period that gives a span of incidents enough time steps.

    Parameters
    ----------
    incidents
        Incidents with a ``time`` column, or the times themselves.
    periods
        pandas period aliases to try, coarsest first; default :data:`AUTO_PERIODS`
        (quarters, months, weeks). The last is the fallback.
    min_periods
        Fewest periods a choice must give (at least 3, the fewest the analysis takes).
    target_periods
        Periods preferred when a period other than the fallback gives them (ESRI
        recommends 10 or more).

    Returns
    -------
    PeriodChoice
        The period (None when none gives ``min_periods``), the periods each alias gives
        and the reason in words.

    Raises
    ------
    HotspotError
        For a missing ``time`` column, times that are missing or not datetimes, an
        unknown alias, or ``min_periods``/``target_periods`` out of range.

    Notes
    -----
    Periods are counted as :func:`emerging_hotspots` counts them: every calendar period
    from the first incident's to the last's, partial ones at either end included (a
    span of September to December gives 2 quarters, 4 months, 18 weeks). The rule:

    1. the coarsest period, other than the fallback, that gives ``target_periods``;
    2. else the coarsest that gives ``min_periods``;
    3. else none: trends are skipped.

    So a year gives months (12) rather than quarters (4), four months give months (4:
    weekly counts of a rural district are mostly zeros, so weeks are used only when
    months give fewer than ``min_periods``), three weeks give weeks, and ten days
    falling in two calendar weeks give nothing. With fewer than 5 periods the
    Mann-Kendall test can never reach p <= 0.05, so no cell can be "intensifying" or
    "diminishing" then, whatever its counts.
    """
    k_min = count("min_periods", min_periods, HotspotError, low=MIN_PERIODS)
    k_target = count("target_periods", target_periods, HotspotError, low=k_min)
    if isinstance(periods, str) or not periods or not all(isinstance(p, str) for p in periods):
        msg = f"periods must be a non-empty sequence of period aliases, got {periods!r}"
        raise HotspotError(msg)
    if isinstance(incidents, gpd.GeoDataFrame):
        if "time" not in incidents.columns:
            msg = "incidents lack a 'time' column, needed for emerging hot spots"
            raise HotspotError(msg)
        times = incidents["time"]
    else:
        times = incidents
    if len(times) == 0:
        msg = "no incidents to analyse (the incident set is empty)"
        raise HotspotError(msg)
    n_periods = {alias: len(_period_ordinals(times, alias)[1]) for alias in periods}
    first, last = pd.Timestamp(times.min()), pd.Timestamp(times.max())
    aliases = list(n_periods)
    target = [a for a in aliases[:-1] if n_periods[a] >= k_target]
    enough = [a for a in aliases if n_periods[a] >= k_min]
    chosen = target[0] if target else (enough[0] if enough else None)
    if chosen is None:
        each = ", ".join(_periods_text(a, n_periods[a]) for a in aliases)
        reason = (
            f"the incidents span {_span_text(first, last)}: {each}; emerging hot spots "
            f"need at least {k_min} periods"
        )
    else:
        others = ", ".join(
            f"{_period_word(a, 2)} give {n_periods[a]}" for a in aliases[: aliases.index(chosen)]
        )
        why = f"{k_target} or more preferred" if target else f"at least {k_min} needed"
        reason = _periods_text(chosen, n_periods[chosen]) + (
            f" ({others}; {why})" if others else ""
        )
    return PeriodChoice(
        period=chosen,
        reason=reason,
        n_periods=MappingProxyType(n_periods),
        first=first,
        last=last,
        min_periods=k_min,
        target_periods=k_target,
    )


def emerging_hotspots_auto(
    incidents: gpd.GeoDataFrame,
    *,
    cell_size: float,
    periods: Sequence[str] = AUTO_PERIODS,
    min_periods: int = MIN_PERIODS,
    target_periods: int = TARGET_PERIODS,
    alpha: float = 0.05,
    shape: CellShape = "square",
    bounds: Sequence[float] | None = None,
    area: AreaLike | None = None,
    keep_quiet: bool = True,
    max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
) -> EmergingHotspots | TrendsSkipped:
    """Run :func:`emerging_hotspots` with a period that fits the span, or say why not.

    The period is :func:`choose_trend_period`'s (quarters, months or weeks, see its
    rule); the result's ``period`` names it. When even the finest gives fewer than
    ``min_periods`` periods the span is too short for trends, and the answer is a
    :class:`TrendsSkipped` with the reason rather than an error, so a job can report
    ``f"trends skipped: {r.reason}"`` and finish::

        r = emerging_hotspots_auto(incidents, cell_size=250)
        if isinstance(r, TrendsSkipped):
            print(f"trends skipped: {r.reason}")

    Parameters
    ----------
    incidents
        Incidents with a ``time`` column, in a projected metric CRS.
    cell_size, alpha, shape, bounds, area, keep_quiet, max_memory_gb
        As for :func:`emerging_hotspots`.
    periods, min_periods, target_periods
        As for :func:`choose_trend_period`.

    Returns
    -------
    EmergingHotspots or TrendsSkipped
        The trends by the period chosen, or why there are none.

    Raises
    ------
    HotspotError
        As :func:`choose_trend_period` and :func:`emerging_hotspots` (bad input, not a
        short span).
    """
    inc = check_incidents(incidents)
    choice = choose_trend_period(
        inc, periods=periods, min_periods=min_periods, target_periods=target_periods
    )
    if choice.period is None:
        return TrendsSkipped(
            reason=choice.reason,
            n_periods=choice.n_periods,
            first=choice.first,
            last=choice.last,
            n_incidents=len(inc),
            min_periods=choice.min_periods,
        )
    return emerging_hotspots(
        inc,
        cell_size=cell_size,
        period=choice.period,
        alpha=alpha,
        shape=shape,
        bounds=bounds,
        area=area,
        keep_quiet=keep_quiet,
        max_memory_gb=max_memory_gb,
    )
