"""Shared pieces of the simulator: random streams, the month calendar, array helpers.

Every part of the model draws from its own named random stream derived from the seed, so
adding draws to one part never shifts the numbers of another, and the same seed always
gives the same world.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Variable-length UTF-8 strings: names, addresses and texts of any length, vectorised.
STR = np.dtypes.StringDType()
# Element types are documented by the alias name; numpy's stubs cannot follow the string,
# date and fancy-indexing arithmetic used here, so the aliases stay loose for mypy.
Strs = NDArray[Any]
Ints = NDArray[Any]
Floats = NDArray[Any]
Bools = NDArray[Any]
Days = NDArray[Any]


class Streams:
    """Independent random generators, one per named part of the model."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def get(self, name: str) -> np.random.Generator:
        """The generator for ``name`` (a fresh one on every call, same state for same name)."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode("utf-8"))])


@dataclass(frozen=True)
class Calendar:
    """The simulated window: month 0 is the first month, ``months - 1`` the last.

    Months before the window are negative. Dates are numpy ``datetime64[D]`` values.
    """

    first: np.datetime64  # first day of month 0
    months: int

    @classmethod
    def ending(cls, end_month: str, months: int) -> Calendar:
        """The ``months`` months ending with ``end_month`` (``YYYY-MM``)."""
        last = np.datetime64(end_month, "M")
        first = (last - np.timedelta64(months - 1, "M")).astype("datetime64[D]")
        return cls(first, months)

    def month_start(self, m: Ints | int) -> Days:
        """First day of month ``m``."""
        base = self.first.astype("datetime64[M]")
        out: Days = (base + np.asarray(m, dtype=np.int64)).astype("datetime64[D]")
        return out

    def month_end(self, m: Ints | int) -> Days:
        """Last day of month ``m``."""
        out: Days = self.month_start(np.asarray(m, dtype=np.int64) + 1) - np.timedelta64(1, "D")
        return out

    def month_of(self, day: Days) -> Ints:
        """Month index of each date."""
        months = day.astype("datetime64[M]") - self.first.astype("datetime64[M]")
        out: Ints = months.astype(np.int64)
        return out

    def random_day(self, rng: np.random.Generator, m: Ints) -> Days:
        """A uniformly random day within each month ``m``."""
        start = self.month_start(m)
        length = (self.month_end(m) - start).astype(np.int64) + 1
        offset = (rng.random(len(start)) * length).astype(np.int64)
        out: Days = start + offset.astype("timedelta64[D]")
        return out

    @property
    def end(self) -> np.datetime64:
        """Last day of the window."""
        return np.datetime64(str(self.month_end(self.months - 1)), "D")

    def label(self, m: int) -> str:
        """``YYYY-MM`` of month ``m``."""
        return str(self.month_start(m).astype("datetime64[M]"))

    def to_date(self, day: np.datetime64) -> date:
        """A numpy day as a Python date."""
        return date.fromisoformat(str(day.astype("datetime64[D]")))


def weighted(rng: np.random.Generator, weights: Sequence[float] | Floats, size: int) -> Ints:
    """``size`` indices drawn with probability proportional to ``weights``."""
    return draw_cumulative(rng, np.cumsum(np.asarray(weights, dtype=np.float64)), size)


def draw_cumulative(rng: np.random.Generator, cum: Floats, size: int) -> Ints:
    """What :func:`weighted` draws, given the cumulative weights (to reuse them)."""
    out: Ints = np.searchsorted(cum, rng.random(size) * cum[-1], side="right").astype(np.int64)
    return out


def pick(rng: np.random.Generator, table: Mapping[str, float], size: int) -> Strs:
    """``size`` keys of ``table`` drawn by their weights."""
    keys = np.array(list(table), dtype=STR)
    return keys[weighted(rng, list(table.values()), size)]


def strs(values: Sequence[str] | Strs) -> Strs:
    """A variable-length string array."""
    return np.asarray(values, dtype=STR)


def join(*parts: Strs | str) -> Strs:
    """Element-wise concatenation of string arrays and constants."""
    out: Any = parts[0] if not isinstance(parts[0], str) else strs([parts[0]])
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return np.asarray(out, dtype=STR)


def digits(values: Ints, width: int) -> Strs:
    """Non-negative integers as zero-padded decimal strings."""
    return np.asarray(np.strings.zfill(np.asarray(values).astype(STR), width), dtype=STR)


def fmt_dates(days: Days) -> Strs:
    """``YYYY-MM-DD`` strings (empty for NaT)."""
    out = np.asarray(np.datetime_as_string(days.astype("datetime64[D]")), dtype=STR)
    return np.where(np.isnat(days), "", out).astype(STR)


def lognormal(rng: np.random.Generator, median: Floats | float, sigma: float, size: int) -> Floats:
    """Lognormal draws with the given median(s)."""
    return np.asarray(median, dtype=np.float64) * np.exp(sigma * rng.standard_normal(size))
