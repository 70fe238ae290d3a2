"""Plan one shift's patrols and store the plan with its files (GPX, GeoJSON, CSV, maps).

The planning is :func:`service.patrol.run_patrol_job`'s and the files are
:func:`service.patrol.write_patrol_outputs`' and :func:`service.patrol.write_patrol_map`'s,
exactly as ``pingan patrol`` writes them; here are only the request's checks, the
shared analyses the area does not change (hot spots, dark-road risk, map settings)
computed once per app, and the storing.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from geo.errors import PatrolError
from geo.patrol import PatrolParams, Shift, TargetParams, Units
from geo.patrol.model import clock_window
from service.api.ops.files import frame_records, read_folder
from service.api.schemas import Strict
from service.store.base import PlanRecord, User

if TYPE_CHECKING:
    from geo.hotspots import HotspotResult
    from geo.lighting import RoadRisk
    from service.api.deps import AppState
    from service.api.jobs import JobContext
    from service.map_options import MapSettings

__all__ = [
    "DETAIL",
    "SHIFTS",
    "PatrolRequest",
    "check_request",
    "map_settings",
    "plan_patrol",
    "shift_window",
    "variant_files",
]

#: The shifts a dispatcher picks by name, as clock windows (a night shift ends next morning).
SHIFTS: dict[str, str] = {
    "night": "20:00-02:00",  # `pingan patrol`'s default shift
    "evening": "17:00-22:00",
    "day": "08:00-17:00",
}
#: The stored file with the best plan's units and stops, and every variant's table.
DETAIL = "patrol_detail.json"


def shift_window(shift: str) -> str:
    """Return a shift name or ``HH:MM-HH:MM`` as its clock window, raising PatrolError."""
    window = SHIFTS.get(shift, shift)
    clock_window(window, "shift")
    return window


class PatrolRequest(Strict):
    """One shift's patrol plan, as ``pingan patrol``'s flags ask for it."""

    stations: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=100)]],
            Field(min_length=1, max_length=20),
        ]
        | None
    ) = Field(
        default=None, description="station ids the units leave from; none: the first police station"
    )
    units: int = Field(default=3, ge=1, le=20, description="units per station")
    shift: str = Field(
        default="night",
        max_length=20,
        description="night (20:00-02:00), evening (17:00-22:00), day (08:00-17:00) "
        "or a clock window HH:MM-HH:MM",
    )
    date: str | None = Field(
        default=None,
        max_length=10,
        description="the date the shift starts, YYYY-MM-DD; none: today",
    )
    mode: Literal["car", "motorbike", "foot"] | None = Field(
        default=None, description="travel mode; none: the area's"
    )
    variants: int = Field(default=1, ge=1, le=5, description="diverse plans to choose from")
    seconds: float = Field(
        default=10.0, gt=0, le=120, description="solver budget per plan, seconds"
    )
    seed: int = Field(default=1, ge=0, le=2**31 - 1, description="solver seed")
    dark_roads: bool = Field(default=True, description="also drive the riskiest dark roads")
    dark_road_count: int = Field(
        default=3, ge=1, le=50, description="how many dark roads, with dark_roads"
    )
    hotspots: int = Field(default=30, ge=0, le=200, description="hot spots at most")
    dwell_min: float = Field(default=15.0, gt=0, le=240, description="minutes at a hot spot")
    revisit: int = Field(default=5, ge=0, le=50, description="hottest spots to revisit")
    revisit_min: float = Field(default=120.0, gt=0, le=1440, description="minutes between revisits")
    window: str | None = Field(
        default=None, max_length=11, description="when hot spots may be visited"
    )
    villages: list[Annotated[str, Field(min_length=1, max_length=20)]] = Field(
        default_factory=list, max_length=100, description="village codes to visit"
    )
    max_minutes: float | None = Field(
        default=None, gt=0, le=1440, description="longest a unit is out"
    )
    break_min: float = Field(default=0.0, ge=0, le=240, description="meal break, minutes")
    break_window: str | None = Field(
        default=None, max_length=11, description="when the break starts"
    )
    balance: bool = Field(default=False, description="minimise the longest route, not the total")

    @field_validator("shift")
    @classmethod
    def _shift(cls, v: str) -> str:
        shift_window(v)
        return v

    @field_validator("date")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                dt.date.fromisoformat(v)
            except ValueError as exc:
                msg = f"date must be YYYY-MM-DD, got {v!r}"
                raise ValueError(msg) from exc
        return v

    @field_validator("window", "break_window")
    @classmethod
    def _window(cls, v: str | None) -> str | None:
        if v is not None:
            clock_window(v, "window")
        return v


def map_settings(state: AppState, lang: str) -> MapSettings:
    """Return the offline map settings of the area in ``lang`` (computed once per app)."""
    from service.map_options import settings_for

    return state.memo(f"ops.map_settings:{lang}", lambda: settings_for(state.area, lang=lang))


def _risk(state: AppState) -> RoadRisk | None:
    if state.area.villages is None:
        return None
    # The lighting router's memo: one risk of the area for every router.
    from service.api.ops.analyses import dark_risk

    return dark_risk(state)


def _hotspots(state: AppState, shift: Shift) -> HotspotResult | None:
    """Return the shift hours' hot spots, as run_patrol_job picks them, once per window."""
    area = state.area
    if area.incidents is None:
        return None
    from geo.hotspots import filter_incidents
    from service.night import hotspots_of

    hours = (f"{shift.start:%H:%M}", f"{shift.end:%H:%M}")
    return state.memo(
        f"ops.hotspots:{hours[0]}-{hours[1]}",
        lambda: hotspots_of(area, filter_incidents(area.incidents, hours=hours)),
    )


def variant_files(k: int) -> tuple[str, str]:
    """Return the stored GPX and shift sheet of variant ``k`` (1 is the best plan)."""
    if k == 1:
        return "patrol.gpx", "patrol_shift_sheet.csv"
    return f"patrol_variant_{k}.gpx", f"patrol_variant_{k}_sheet.csv"


def check_request(state: AppState, req: PatrolRequest) -> list[str]:
    """Return the stations the plan leaves from; PatrolError names one the area lacks.

    Called before a job is queued, so a wrong id is answered at once (422), not by a
    failed job.
    """
    from service.patrol import default_station

    area = state.area
    known = set(area.require("stations")["id"].astype(str))
    stations = req.stations or [default_station(area)]
    bad = [s for s in stations if s not in known]
    if bad:
        have = ", ".join(sorted(known))
        msg = f"stations: no station {', '.join(bad)} in the area (stations: {have})"
        raise PatrolError(msg)
    return stations


def plan_patrol(
    state: AppState, user: User, req: PatrolRequest, ctx: JobContext | None = None
) -> PlanRecord:
    """Plan the shift, write its files and maps (zh and en) and store them as one plan.

    Raises
    ------
    PatrolError
        A station the area lacks, a shift or date that is wrong, nothing to patrol.
    """
    from service.output import Output
    from service.patrol import (
        run_patrol_job,
        write_patrol_map,
        write_patrol_outputs,
    )

    area = state.area
    say = ctx.progress if ctx is not None else (lambda pct, msg="": None)
    stations = check_request(state, req)
    date = dt.date.fromisoformat(req.date) if req.date else dt.date.today()
    shift = Shift.parse(shift_window(req.shift), date=date, tz=area.spec.tz)
    units = [
        Units(
            station=s,
            count=req.units,
            mode=req.mode or area.mode,
            shift=shift,
            max_duration_min=req.max_minutes,
            break_min=req.break_min,
            break_window=req.break_window,
        )
        for s in stations
    ]
    # A wall-clock budget alone: the iterations cap would end a small budget's search
    # early on a fast machine and late on a slow one.
    params = PatrolParams(seconds=req.seconds, seed=req.seed, balance=req.balance)
    tp = TargetParams(
        hotspots=req.hotspots,
        dwell_min=req.dwell_min,
        revisit=req.revisit,
        revisit_min=req.revisit_min,
        dark_roads=req.dark_road_count if req.dark_roads else 0,
        window=req.window,
    )
    say(5, "hot spots of the shift's hours and the dark roads")
    hot = _hotspots(state, shift)
    risk = _risk(state)
    say(15, f"planning {req.variants} variant(s) of the {shift.label} shift")
    report = run_patrol_job(
        area,
        units,
        params=params,
        variants=req.variants,
        hotspots=hot,
        risk=risk,
        villages=req.villages,
        target_params=tp,
    )
    say(80, "writing the GPX, GeoJSON, shift sheets and maps")
    with tempfile.TemporaryDirectory(prefix="pingan-patrol-") as tmp:
        files, en = Path(tmp, "files"), Path(tmp, "en")
        out = Output(files)
        figures = write_patrol_outputs(out, report)
        write_patrol_map(out, report, area, map_settings(state, "zh"))
        write_patrol_map(Output(en), report, area, map_settings(state, "en"))
        artifacts = read_folder(files)
        html = (en / "patrol_map.html").read_bytes()
        artifacts["patrol_map.en.html"] = ("text/html; charset=utf-8", html)
    v = report.variants
    best = v.plans[0]
    detail: dict[str, Any] = {
        "units": frame_records(best.units),
        "stops": frame_records(best.stops),
        "left_out": frame_records(best.left_out),
        "variants": frame_records(v.table()) if len(v.plans) > 1 else [],
        "variant_plans": [{**p.summary(), "variant": k} for k, p in enumerate(v.plans, 1)],
    }
    artifacts[DETAIL] = (
        "application/json",
        json.dumps(detail, ensure_ascii=False).encode("utf-8"),
    )
    summary = {
        **figures,
        "stations": stations,
        "targets": len(report.targets),
        "request": req.model_dump(),
    }
    say(95, "storing the plan")
    plan = state.store.put_plan(
        "patrol",
        summary,
        artifacts,
        user_id=user.id,
        job_id=ctx.job.id if ctx is not None else None,
    )
    state.store.audit(user, "plan.create", f"plan:{plan.id}", {"kind": "patrol"})
    return plan
