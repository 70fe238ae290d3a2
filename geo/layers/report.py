"""The problem collector: every check of one file reports here, nothing raises midway.

A layer is never returned half-loaded, so the readers keep going after a problem and
raise (or return) everything at the end; :class:`Report` keeps that list short enough
to read while still counting every problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import Problem

__all__ = ["MAX_PROBLEMS", "Report"]

BoolArray: TypeAlias = npt.NDArray[np.bool_]
IntArray: TypeAlias = npt.NDArray[np.int64]

#: At most this many problems are listed; one extra problem then counts the rest.
MAX_PROBLEMS: Final = 50


@dataclass
class Report:
    """Collect problems for one file, keeping the first few per check and a total count.

    ``rows`` maps table positions to the 1-based data rows problems name; the reader
    sets it once the file is read, as skipped blank lines make the two differ.
    """

    file: str
    rows: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    problems: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        """Record one problem of the file, or of one row or column of it."""
        self.total += 1
        self.problems.append(Problem(self.file, message, row=row, column=column))

    def flag(
        self,
        mask: BoolArray | pd.Series[bool],
        column: str | None,
        message: str | Callable[[int], str],
    ) -> None:
        """Record one problem per true entry of ``mask`` (positions into the table).

        ``message`` is a fixed text or a function of the position, called only for the
        problems that are kept, so a million bad rows cost one vectorised mask.
        """
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        self.total += positions.size
        for pos in positions[:MAX_PROBLEMS].tolist():
            text = message if isinstance(message, str) else message(pos)
            self.problems.append(Problem(self.file, text, row=int(self.rows[pos]), column=column))

    def flag_values(
        self,
        mask: BoolArray | pd.Series[bool],
        column: str | None,
        template: str,
        values: Sequence[object],
    ) -> None:
        """Like `flag`, with ``template`` formatted with ``value=values[position]``."""
        self.flag(mask, column, lambda i: template.format(value=values[i]))

    def finish(self) -> list[Problem]:
        """Return the problems sorted by row (file-level first), capped at `MAX_PROBLEMS`."""
        ordered = sorted(self.problems, key=lambda p: (p.row is not None, p.row or 0))
        shown = ordered[:MAX_PROBLEMS]
        rest = self.total - len(shown)
        if rest > 0:
            shown.append(Problem(self.file, f"... and {rest} more problem(s) not listed"))
        return shown
