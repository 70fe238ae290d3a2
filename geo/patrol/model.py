"""What a dispatcher asks for: units on a shift, what to look at, how hard to search.

:class:`Shift` is a clock window on a date that may cross midnight; :class:`Units` a
group of units of one station; :class:`PatrolParams` the planner's tunables. Targets
are a table (see :mod:`geo.patrol.targets`). Everything here validates itself and
names the parameter that is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from geo.errors import PatrolError

__all__ = ["MODES", "PatrolParams", "Shift", "Units", "clock_window", "parse_clock"]

#: Travel modes a unit may patrol in.
MODES = ("car", "motorbike", "foot")

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_clock(text: str, what: str = "time") -> dt.time:
    """Return ``HH:MM`` (24-hour clock) as a time, or raise naming ``what``."""
    m = _CLOCK.match(str(text))
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
        msg = f"{what} must be a 24-hour clock time HH:MM, got {text!r}"
        raise PatrolError(msg)
    h, mi = int(m.group(1)), int(m.group(2))
    if h == 24 and mi == 0:
        return dt.time(0, 0)
    if h == 24:
        msg = f"{what} must be a 24-hour clock time HH:MM, got {text!r}"
        raise PatrolError(msg)
    return dt.time(h, mi)


def clock_window(text: str, what: str) -> tuple[dt.time, dt.time]:
    """Return ``HH:MM-HH:MM`` as (start, end) clock times; the end may be past midnight."""
    parts = str(text).split("-")
    if len(parts) != 2:
        msg = f"{what} must be a clock window HH:MM-HH:MM (e.g. 20:00-02:00), got {text!r}"
        raise PatrolError(msg)
    return parse_clock(parts[0], what), parse_clock(parts[1], what)


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class Shift:
    """A shift on a date, from ``start`` to ``end``, in the time zone ``tz``.

    ``start`` and ``end`` are clock times; a night shift's end is the next morning.
    Times inside the plan are seconds from the shift's start.
    """

    start: dt.time
    end: dt.time
    date: dt.date = dt.date(2026, 1, 1)
    tz: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            msg = f"the shift {self.label} has no length: its end must differ from its start"
            raise PatrolError(msg)
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"shift time zone {self.tz!r} is not an IANA time zone name"
            raise PatrolError(msg) from exc

    @classmethod
    def parse(cls, text: str, date: dt.date | None = None, tz: str = "Asia/Shanghai") -> Shift:
        """Return a shift from ``HH:MM-HH:MM`` (``20:00-02:00`` ends the next morning)."""
        start, end = clock_window(text, "shift")
        return cls(start, end, date or dt.date(2026, 1, 1), tz)

    @property
    def seconds(self) -> float:
        """Length of the shift in seconds (crossing midnight when the end is earlier)."""
        return float(((_minutes(self.end) - _minutes(self.start)) % (24 * 60)) * 60)

    @property
    def label(self) -> str:
        """The shift as ``HH:MM-HH:MM``."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def begins(self) -> dt.datetime:
        """The moment the shift starts (time-zone aware)."""
        return dt.datetime.combine(self.date, self.start, tzinfo=ZoneInfo(self.tz))

    def at(self, seconds: np.ndarray | float) -> np.ndarray:
        """Return the clock moments (aware datetimes) ``seconds`` after the start."""
        s = np.atleast_1d(np.asarray(seconds, dtype=float))
        return np.array([self.begins + dt.timedelta(seconds=float(x)) for x in s], dtype=object)

    def offset(self, clock: dt.time) -> float:
        """Return the seconds from the shift's start to the next ``clock`` time."""
        return float(((_minutes(clock) - _minutes(self.start)) % (24 * 60)) * 60)

    def window(self, text: str, what: str) -> tuple[float, float]:
        """Return a clock window (``23:00-03:00``) as seconds from the shift's start.

        The window is clipped to the shift; a window the shift never meets is returned
        empty (start > end) for the caller to report.
        """
        a, b = clock_window(text, what)
        lo = self.offset(a)
        length = ((_minutes(b) - _minutes(a)) % (24 * 60)) * 60 or 24 * 3600
        hi = lo + length
        # A window that opened before the shift began may still be open at its start.
        if lo > 0 and lo + length - 24 * 3600 > 0:
            return 0.0, min(lo + length - 24 * 3600, self.seconds)
        return lo, min(hi, self.seconds)


@dataclass(frozen=True)
class Units:
    """``count`` units of one station, all on the same shift and mode.

    ``max_duration_min`` caps a unit's time out (default: the whole shift);
    ``break_min`` is a meal break taken at a stop, in ``break_window`` (clock times;
    default the middle of the shift).
    """

    station: str
    count: int = 1
    mode: str = "car"
    shift: Shift = field(default_factory=lambda: Shift.parse("20:00-02:00"))
    max_duration_min: float | None = None
    break_min: float = 0.0
    break_window: str | None = None
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int | np.integer):
            msg = f"units must be a whole number, got {self.count!r}"
            raise PatrolError(msg)
        if not 1 <= int(self.count) <= 200:
            msg = f"units must be between 1 and 200 per station, got {self.count}"
            raise PatrolError(msg)
        if self.mode not in MODES:
            msg = f"mode must be one of {', '.join(MODES)}, got {self.mode!r}"
            raise PatrolError(msg)
        md = self.max_duration_min
        if md is not None and not (np.isfinite(md) and md > 0):
            msg = f"max duration must be a positive number of minutes, got {md}"
            raise PatrolError(msg)
        if not (np.isfinite(self.break_min) and self.break_min >= 0):
            msg = f"break must be a number of minutes >= 0, got {self.break_min}"
            raise PatrolError(msg)
        if self.break_min * 60 >= self.limit_s:
            msg = f"a {self.break_min:g}-minute break leaves no time in a {self.shift.label} shift"
            raise PatrolError(msg)
        if self.names and len(self.names) != self.count:
            msg = f"{len(self.names)} unit names given for {self.count} units"
            raise PatrolError(msg)
        if self.break_window is not None:
            self.shift.window(self.break_window, "break window")

    @property
    def limit_s(self) -> float:
        """The longest a unit may be out, in seconds."""
        md = np.inf if self.max_duration_min is None else self.max_duration_min * 60
        return float(min(self.shift.seconds, md))

    def break_span(self) -> tuple[float, float]:
        """Return the window in which the break starts, in seconds from the shift start."""
        if self.break_window is not None:
            return self.shift.window(self.break_window, "break window")
        mid = self.limit_s / 2
        return max(0.0, mid - 3600.0), mid + 3600.0

    def unit_names(self) -> tuple[str, ...]:
        """Return each unit's name (``S1-1``, ``S1-2`` ... unless named)."""
        return self.names or tuple(f"{self.station}-{k + 1}" for k in range(self.count))


@dataclass(frozen=True)
class PatrolParams:
    """Tunables of the planner.

    Parameters
    ----------
    seconds
        Wall-clock budget of each solve.
    iterations
        Search iterations per worker. The search stops at whichever of ``seconds`` and
        ``iterations`` comes first; when the iterations do, the same seed gives the same
        plan on any machine.
    seed
        Random seed of the search.
    workers
        Searches run side by side with different seeds (one per CPU core is sensible);
        the best wins, chosen the same way every time.
    balance
        Minimise the longest route instead of the total, for the same targets.
    recent_penalty
        Extra cost, as a share of travel time, of a road driven in the recent shifts
        given to the planner, and the share of a recent stop's prize withheld.
    """

    seconds: float = 10.0
    iterations: int | None = 20_000
    seed: int = 1
    workers: int = 1
    balance: bool = False
    recent_penalty: float = 0.5

    def __post_init__(self) -> None:
        if not (np.isfinite(self.seconds) and 0.1 <= self.seconds <= 3600):
            msg = f"seconds must be between 0.1 and 3600, got {self.seconds}"
            raise PatrolError(msg)
        it = self.iterations
        if it is not None and (isinstance(it, bool) or not isinstance(it, int) or it < 1):
            msg = f"iterations must be a positive whole number or None, got {it!r}"
            raise PatrolError(msg)
        if not isinstance(self.workers, int) or not 1 <= self.workers <= 64:
            msg = f"workers must be between 1 and 64, got {self.workers!r}"
            raise PatrolError(msg)
        if not (np.isfinite(self.recent_penalty) and 0 <= self.recent_penalty <= 1):
            msg = f"recent_penalty must be between 0 and 1, got {self.recent_penalty}"
            raise PatrolError(msg)
