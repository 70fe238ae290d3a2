"""Every error the product raises, in one place.

All of them subclass :class:`PinganError`, itself a :class:`ValueError`, so callers that
only care about "bad input" catch one type, while the CLI and the coming HTTP service map
each subclass to a specific message or 4xx answer. Each module raises its own subclass,
named after its concern; none defines error classes of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AllocationError",
    "AreaError",
    "CoordinateError",
    "CoverageError",
    "EngineError",
    "HotspotError",
    "InfeasibleCoverError",
    "LayerError",
    "LightingError",
    "MapError",
    "NetworkError",
    "OfflineAssetError",
    "PatrolError",
    "PinganError",
    "Problem",
    "SampleError",
    "ScenarioError",
    "TeamError",
]


class PinganError(ValueError):
    """Base class of all input and configuration errors raised by the product."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


class LayerError(PinganError):
    """A layer file cannot be read or does not pass validation.

    ``problems`` lists every problem found (not just the first), so ``pingan layers
    check`` can print them all in one go.
    """

    def __init__(self, problems: list[Problem] | Problem, *, limit: int = 10) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:limit]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problem(s)")
        super().__init__("\n".join(shown))


class CoordinateError(PinganError):
    """Coordinates or a coordinate reference system are invalid or unsupported."""


class NetworkError(PinganError):
    """A road network cannot be built from the given input or parameters."""


class AreaError(PinganError):
    """An area (its file, or the set of layers and roads it names) is invalid."""


class EngineError(PinganError):
    """A routing request is invalid (bad ids, shapes or parameters)."""


class CoverageError(PinganError):
    """Coverage inputs or parameters are invalid."""


class AllocationError(PinganError):
    """Inputs or parameters of a location-allocation or max-cover problem are invalid."""


class InfeasibleCoverError(AllocationError):
    """Some demand points cannot be covered by any candidate or existing station.

    ``uncoverable`` holds their indices and ``uncoverable_ids`` their ids (the indices as
    text when no ids were given), all of them, even when the message shows only the first.
    """

    def __init__(
        self, uncoverable: Sequence[int], uncoverable_ids: Sequence[str], threshold_min: float
    ) -> None:
        self.uncoverable = tuple(int(i) for i in uncoverable)
        self.uncoverable_ids = tuple(uncoverable_ids)
        shown = ", ".join(self.uncoverable_ids[:20])
        more = len(self.uncoverable_ids) - 20
        if more > 0:
            shown += f", ... and {more} more"
        super().__init__(
            f"{len(self.uncoverable_ids)} demand point(s) cannot be reached within "
            f"{threshold_min:g} min from any candidate site or existing station: {shown}"
        )


class ScenarioError(PinganError):
    """A scenario file or edit is invalid."""


class HotspotError(PinganError):
    """Hot spot inputs or parameters are invalid."""


class LightingError(PinganError):
    """Lighting inputs or parameters are invalid."""


class PatrolError(PinganError):
    """A patrol planning request is invalid or infeasible (named in the message)."""


class TeamError(PinganError):
    """A vanguard-team assignment request is invalid or infeasible."""


class SampleError(PinganError):
    """The sample district cannot be generated with the given parameters."""


class MapError(PinganError):
    """A map cannot be built from the given layers or options."""


class OfflineAssetError(MapError):
    """A map page refers to an asset that cannot be embedded for offline use."""
