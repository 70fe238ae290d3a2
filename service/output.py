"""The one writer of the files a job or command produces.

Every output goes through :class:`Output`: one folder, one fixed name per kind of file
(the same for ``pingan run``, ``pingan demo`` and the single commands, listed in
:data:`FILES` and in the README), atomic writes (a crash never leaves half a file where a
good one stood), and a record of what was written for the closing message.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from geo.atomic import atomic_write, write_text
from geo.results import Result, jsonable
from maps.offline import save_offline
from service.reports import places

__all__ = ["FILES", "Output"]

#: Every file name the product writes, with what it holds.
FILES: dict[str, str] = {
    "summary.md": "roads, layers and snapping distances, for people",
    "summary.json": "the same and every headline figure, for programs",
    "index.html": "every map and report of the run, each with what it is for: open this first",
    "overview.html": "the offline overview map",
    "patrol_map.html": "the dispatcher's map: tonight's routes, numbered stops, variants",
    "teams_map.html": "the vanguard teams' map: bases, villages, routes, need scores",
    "scenario_compare.html": "the planner's map: villages gaining or losing coverage, isochrones",
    "<TEAM>.html": "a team leader's village briefing map, printable on A4 (briefings/)",
    "coverage.md": "coverage from stations and posts (primary mode)",
    "coverage.html": "the offline map of village travel times over the stations' isochrones",
    "coverage_villages.csv": "per village: nearest station, minutes, covered per threshold",
    "coverage_by_mode.md": "coverage by car, motorbike/e-bike and foot",
    "coverage_by_mode.csv": "per village: minutes and facility per mode",
    "isochrones.geojson": "5/10/15/30-minute isochrones of the stations",
    "posts.csv": "proposed posts: where, on which road, nearest village, villages gained",
    "posts.geojson": "the proposed posts as points",
    "posts.html": "the offline map of the proposed posts",
    "scenario_comparison.md": "two scenarios compared village by village",
    "scenario_comparison.csv": "per village: minutes and coverage in A and B",
    "hotspots.md": "hot spots, unlit roads and lamps, for people",
    "hotspots.html": "the offline night-safety map",
    "hotspot_cells.geojson": "significant Gi* cells",
    "hotspot_roads.csv": "each 200 m road stretch with incidents or a significant Gi*: count, z",
    "hotspot_trends.csv": "emerging hot spot pattern per cell",
    "lit_km_by_village.csv": "km of road lit / unlit / unknown per village",
    "lit_km_by_township.csv": "the same per township",
    "lit_km_by_district.csv": "the same per district",
    "unlit_roads_risk.csv": "every dark road piece scored by risk, with why",
    "dark_roads_ranked.csv": "dark roads ranked as whole roads (pieces and carriageways joined)",
    "lamps.geojson": "proposed lamp points",
    "lamps.html": "the offline map of the dark roads and the proposed lamps",
    "unlit.html": "the offline map of the dark roads by risk",
    "lamps_comparison.md": "the lamp plan applied as a scenario, compared with the base",
    "base.json": "scenario: the area as it is (scenarios/)",
    "post_and_lamps.json": "scenario: a post and lamps where they matter most (scenarios/)",
    "lamps.json": "scenario: the lamp plan's roads marked lit (scenarios/)",
    "lamps.csv": "the proposed lamps: run, road, position, worth and its parts, lat/lon",
    "lamp_runs.csv": "one row per run of lamps: road, lamps, metres, households, where",
    "patrol.md": "tonight's patrol plan: units, stops, what was left out and why, variants",
    "patrol.gpx": "the plan's tracks and stops per unit, for handheld and car navigation",
    "patrol_shift_sheet.csv": "the shift sheet: unit, stop, ETA, dwell, what to check there",
    "patrol_routes.geojson": "the plan's routes and numbered stops",
    "patrol_plan.json": "the plan's figures and roads driven (give it to --recent tomorrow)",
    "patrol_targets.csv": "what the plan could call at: hot spots, dark roads, villages",
    "patrol_variants.csv": "the variants compared: prize, share of the best, overlap",
    "patrol_variant_2.gpx": "the second variant's tracks and stops",
    "patrol_variant_2_sheet.csv": "the second variant's shift sheet",
    "patrol_variant_3.gpx": "the third variant's tracks and stops",
    "patrol_variant_3_sheet.csv": "the third variant's shift sheet",
    "teams.md": "the vanguard teams: who goes where, why those villages, who was passed over",
    "teams_assignment.csv": "team, leader, home unit, village, code, township, minutes, km, need",
    "teams_assignment.xlsx": "the same in Excel (Chinese headers), with every village's need",
    "teams_villages.csv": "every village's need score, its parts and why",
    "teams_routes.geojson": "each team's road route from its base to its village",
    "officers.html": "the offline map of villages with and without an auxiliary officer, moves",
    "officers.md": "one village, one auxiliary officer: the gaps and who could fill them",
    "officers_gaps.csv": "villagers' committees without an auxiliary officer",
    "officers_proposals.csv": "an officer proposed for each gap: from where, minutes, km",
    "officers.xlsx": "the gaps and proposals as an Excel workbook (Chinese headers)",
    "pingan-run.json": "the run manifest: inputs with hashes, options, files, status",
}


def _cell(value: Any) -> Any:
    """Return a value as an Excel cell holds it: NaN as empty, numpy scalars as Python's."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        # Excel has no time zones: the local wall-clock time, as the reports print it.
        return value.tz_localize(None).to_pydatetime()
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


class Output:
    """Write a job's files into one folder under their fixed names.

    Parameters
    ----------
    folder
        Created when the first file is written.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.written: list[Path] = []

    def path(self, name: str) -> Path:
        """Return where ``name`` goes (names outside :data:`FILES` may sit in subfolders)."""
        return self.folder / name

    def final_path(self, name: str) -> Path:
        """Return where ``name`` stays once written (a staged run writes elsewhere first)."""
        return self.path(name)

    def _done(self, name: str) -> Path:
        p = self.path(name)
        self.written.append(p)
        return p

    def text(self, name: str, text: str) -> Path:
        """Write UTF-8 text."""
        write_text(self.path(name), text if text.endswith("\n") else text + "\n")
        return self._done(name)

    def json(self, name: str, data: Any) -> Path:
        """Write JSON (Chinese names kept as they are; NaN as null)."""
        return self.text(name, json.dumps(jsonable(data), ensure_ascii=False, indent=2))

    def record(self, path: Path) -> Path:
        """Note a file written by another writer (a scenario) among this job's outputs."""
        self.written.append(Path(path))
        return Path(path)

    def csv(self, name: str, frame: pd.DataFrame, *, bom: bool = False) -> Path:
        """Write a table as CSV; a layer's geometry becomes WGS84 ``lat``/``lon`` columns.

        A row a planner reads must say where it is: a point's own coordinates, a road's
        point halfway along it, an area's point inside it (5 decimals, about a metre).
        ``bom`` starts the file with a UTF-8 byte-order mark, without which Excel on a
        Chinese Windows reads UTF-8 as GBK and garbles every name: for tables offices open.
        """
        table = frame
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and len(frame):
            table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            if "lat" not in table.columns and "lon" not in table.columns:
                ll = places(frame)
                table["lat"] = ll.y.round(5).to_numpy()
                table["lon"] = ll.x.round(5).to_numpy()
        elif "geometry" in frame.columns:
            table = frame.drop(columns="geometry")
        # Streamed to the file: the text of a table of every road is hundreds of MB.
        with atomic_write(self.path(name)) as fh:
            if bom:
                fh.write("\ufeff")
            table.to_csv(fh, index=False)
        return self._done(name)

    def xlsx(self, name: str, sheets: Mapping[str, pd.DataFrame]) -> Path:
        """Write tables as the sheets of one Excel workbook (header row bold and frozen)."""
        from openpyxl import Workbook
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        book = Workbook()
        book.remove(book.active)
        for title, frame in sheets.items():
            ws = book.create_sheet(title[:31])  # Excel's limit on sheet names
            ws.append([str(c) for c in frame.columns])
            for row in frame.itertuples(index=False):
                ws.append([_cell(v) for v in row])
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
            for k, col in enumerate(frame.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)])
                ws.column_dimensions[get_column_letter(k)].width = min(60, 2 + 1.6 * width)
        with atomic_write(self.path(name), binary=True) as fh:
            book.save(fh)
        return self._done(name)

    def geojson(self, name: str, data: gpd.GeoDataFrame | Result) -> Path:
        """Write a layer (or a result's geometric table) as GeoJSON in WGS84."""
        if isinstance(data, Result):
            text = json.dumps(data.to_geojson(), ensure_ascii=False)
        else:
            text = data.to_crs(4326).to_json(drop_id=True, na="null")
        write_text(self.path(name), text)
        return self._done(name)

    def map(self, name: str, m: folium.Map) -> Path:
        """Write a map as one self-contained HTML page that opens offline."""
        self.path(name).parent.mkdir(parents=True, exist_ok=True)
        save_offline(m, self.path(name))
        return self._done(name)
