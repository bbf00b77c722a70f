"""Helpers shared by the event generators: names as sources write them, vectorised
template filling, times of day, courts and case numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from fengyan.simulate import names
from fengyan.simulate.core import STR, Calendar, Ints, Strs, fmt_dates, join, strs, weighted
from fengyan.simulate.firms import Firms
from fengyan.simulate.geography import City

_SLOT = re.compile(r"(\{\w+\})")


def vfill(
    rng: np.random.Generator,
    options: list[str],
    slots: Mapping[str, Strs],
    n: int,
    which: np.ndarray | None = None,
) -> Strs:
    """Fill a template per row from per-row slot arrays, vectorised.

    ``which`` picks the template of each row (modulo the list length), so a title and a
    text can be drawn as a pair; by default the choice is random.
    """
    which = rng.integers(0, len(options), n) if which is None else which % len(options)
    out: Strs = np.full(n, "", dtype=STR)
    for k, template in enumerate(options):
        rows = np.flatnonzero(which == k)
        if not len(rows):
            continue
        acc: Strs = np.full(len(rows), "", dtype=STR)
        for part in _SLOT.split(template):
            key = part[1:-1] if part.startswith("{") else None
            if key is not None and key in slots:
                acc = np.strings.add(acc, np.asarray(slots[key])[rows])
            elif part:
                acc = np.strings.add(acc, part)
        out[rows] = acc
    return out


def written_names(
    rng: np.random.Generator, f: Firms, idx: Ints, month: Ints, forms: Mapping[str, float]
) -> tuple[Strs, Strs]:
    """How a source writes each firm: full name, short (鹏润科技), brand, typo, traditional."""
    n = len(idx)
    kinds = strs(list(forms))
    form = kinds[weighted(rng, list(forms.values()), n)]
    full = f.state(idx, month, ("name",))["name"].astype(STR)
    short = join(f.brand[idx], f.word[idx])
    out = np.where(
        form == "short", short, np.where(form == "brand", join(f.brand[idx], "公司"), full)
    )
    out = np.asarray(out, dtype=STR)
    for k in np.flatnonzero(form == "typo").tolist():
        out[k] = names.with_typo(str(full[k]), rng)
    for k in np.flatnonzero(form == "traditional").tolist():
        out[k] = names.to_traditional(str(full[k]))
    return out, form


class MonthDays:
    """The days of each month as text, drawn the way :meth:`Calendar.random_day` draws."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self._days: dict[int, list[str]] = {}
        self._edges: dict[int, tuple[str, str]] = {}

    def of(self, m: int) -> list[str]:
        """``YYYY-MM-DD`` of every day of month ``m``."""
        days = self._days.get(m)
        if days is None:
            first = self.cal.month_start(m)
            count = int((self.cal.month_end(m) - first).astype(np.int64)) + 1
            days = self._days[m] = fmt_dates(first + np.arange(count)).tolist()
        return days

    def start(self, m: int) -> str:
        """First day of month ``m``."""
        return self._edge(m)[0]

    def end(self, m: int) -> str:
        """Last day of month ``m``."""
        return self._edge(m)[1]

    def _edge(self, m: int) -> tuple[str, str]:
        got = self._edges.get(m)
        if got is None:
            got = self._edges[m] = (str(self.cal.month_start(m)), str(self.cal.month_end(m)))
        return got

    def draw(self, rng: np.random.Generator, m: int) -> str:
        """A uniformly random day of month ``m`` (one uniform draw, as ``random_day``)."""
        days = self.of(m)
        return days[int(rng.random() * len(days))]


def times(rng: np.random.Generator, cal: Calendar, month: Ints) -> Strs:
    """A datetime string within each month, at a plausible hour."""
    day = fmt_dates(cal.random_day(rng, month))
    hour = np.strings.zfill(rng.integers(7, 23, len(month)).astype(STR), 2)
    minute = np.strings.zfill(rng.integers(0, 60, len(month)).astype(STR), 2)
    return join(day, " ", hour, ":", minute)


def court(city: City, district: Ints, intermediate: np.ndarray | None = None) -> tuple[Strs, Strs]:
    """Court names and region codes: the district court, or the city's intermediate court."""
    names_ = strs([f"{city.name}{d}人民法院" for d in city.district_names])[district]
    codes_ = strs([c.ljust(12, "0") for c in city.district_codes])[district]
    if intermediate is not None:
        names_ = np.where(intermediate, f"{city.name}中级人民法院", names_).astype(STR)
        codes_ = np.where(intermediate, city.code.ljust(12, "0"), codes_).astype(STR)
    return names_, codes_


def case_numbers(
    city: City,
    district: Ints,
    year: Ints,
    kind: str,
    seq: Ints,
    intermediate: np.ndarray | None = None,
) -> Strs:
    """Case numbers such as （2024）粤0305民初1234号."""
    area = strs([c[2:6] for c in city.district_codes])[district]
    if intermediate is not None:
        area = np.where(
            intermediate, strs([city.code[2:4].rjust(2, "0") + ""] * len(district)), area
        )
        area = np.asarray(area, dtype=STR)
    return join("（", year.astype(STR), "）", city.abbr, area, kind, seq.astype(STR), "号")


def masked_person(name: str) -> str:
    """How published court documents write a person: 张某, or 欧阳某某."""
    surname = (
        name[:2]
        if len(name) >= 3 and name[:2] in ("欧阳", "上官", "皇甫", "司徒", "诸葛")
        else name[:1]
    )
    return surname + ("某某" if len(name) - len(surname) > 1 else "某")


def active_span(f: Firms, cal: Calendar) -> tuple[Ints, Ints]:
    """First and one-past-last month each firm is active inside the window."""
    start = np.maximum(f.established_month, 0)
    end = np.minimum(f.status_month, cal.months)
    return start, np.maximum(end, start)


def sample_firm_months(
    rng: np.random.Generator,
    f: Firms,
    cal: Calendar,
    per_year: float,
    weight: np.ndarray,
    mask: np.ndarray,
) -> tuple[Ints, Ints]:
    """Events at ``per_year`` per active firm-year (scaled by ``weight``) among ``mask``."""
    start, end = active_span(f, cal)
    months = (end - start) * mask
    w = months * weight
    total = float(w.sum())
    if total <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    expected = per_year / 12 * float((months * weight).sum() / max(weight[mask].mean(), 1e-12))
    count = int(rng.poisson(expected))
    firm = weighted(rng, w, count)
    month = start[firm] + (rng.random(count) * (end[firm] - start[firm])).astype(np.int64)
    return firm, month
