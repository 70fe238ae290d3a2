"""Every error the engine raises, in one place.

All of them subclass :class:`ValueError` so callers that only care about "bad input"
can catch one type, while the service maps each subclass to a specific 4xx answer.
"""

from __future__ import annotations

from dataclasses import dataclass


class PinganError(ValueError):
    """Base class of all input and configuration errors raised by :mod:`geo`."""


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
