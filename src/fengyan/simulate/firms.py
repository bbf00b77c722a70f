"""The firm table: one row per registered market entity, as arrays.

Registry fields that can change during the window (status, name, address, legal
representative, capital) are kept as *before* and *after* values with the month of the
change (``NEVER`` when there is none), so the registry's state at any month is one
vectorised ``where`` and every delivery can be cut from it (see :mod:`.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fengyan.simulate.core import STR, Bools, Days, Floats, Ints, Strs

NEVER = 1_000_000  # change month meaning "does not change"

# Ground-truth roles of a firm (firms.csv, column ``role``).
ROLE_NORMAL = "normal"
ROLE_FINANCE = "finance_like"
ROLE_LICENSED = "licensed"
ROLE_CORE = "scheme_core"
ROLE_SHELL = "scheme_shell"
ROLE_SUCCESSOR = "scheme_successor"
ROLE_SIMILAR = "negative_similar_name"
ROLE_HOST = "cluster_host"


@dataclass
class Firms:
    """Every firm of the jurisdiction (index = firm number)."""

    credit_code: Strs
    name: Strs
    brand: Strs
    word: Strs
    form: Ints  # index into params.enterprises.forms
    entity_form: Strs
    industry_code: Strs
    industry_label: Strs
    scope: Strs
    finance_like: Bools
    licence: Strs  # licence type ('' = none)
    role: Strs
    scheme: Ints  # scheme id, -1 = none
    established: Days
    established_month: Ints
    capital: Floats  # yuan
    paid_in: Floats  # yuan, NaN = not reported
    headcount: Ints
    district: Ints
    building: Ints
    address: Strs
    region_code: Strs
    operating_address: Strs
    operating_region: Strs
    authority: Strs
    phone: Strs
    legal_rep: Ints  # person index
    group: Ints
    # Changes during the window: value before, value after, month of change.
    status_before: Strs
    status_after: Strs
    status_month: Ints
    status_day: Days
    name_after: Strs
    name_month: Ints
    address_after: Strs
    region_after: Strs
    district_after: Ints
    address_month: Ints
    rep_after: Ints
    rep_month: Ints
    capital_after: Floats
    capital_month: Ints
    extra: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.credit_code)

    def take(self, idx: Ints) -> dict[str, NDArray[Any]]:
        """Every array column at ``idx`` (for writers and tests)."""
        return {f.name: getattr(self, f.name)[idx] for f in fields(self) if f.name != "extra"}

    def append(self, other: Firms) -> None:
        """Add ``other``'s rows after ours."""
        for f in fields(self):
            if f.name != "extra":
                setattr(
                    self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                )

    def changed_in(self, first: int, last: int) -> Bools:
        """Firms established or changed in months ``first..last``."""
        months = (
            self.established_month,
            self.status_month,
            self.name_month,
            self.address_month,
            self.rep_month,
            self.capital_month,
        )
        hit = np.zeros(len(self), dtype=bool)
        for m in months:
            hit |= (m >= first) & (m <= last)
        return hit

    def state(self, idx: Ints, month: int | Ints) -> dict[str, NDArray[Any]]:
        """The registry state of firms ``idx`` at the end of ``month`` (one per firm, or all)."""

        def at(before: NDArray[Any], after: NDArray[Any], m: Ints) -> NDArray[Any]:
            out: NDArray[Any] = np.where(m[idx] <= month, after[idx], before[idx])
            return out

        renamed = self.name_month[idx] <= month
        return {
            "name": at(self.name, self.name_after, self.name_month),
            "former_names": np.where(renamed, self.name[idx], "").astype(STR),
            "status": at(self.status_before, self.status_after, self.status_month),
            "status_day": np.where(
                self.status_month[idx] <= month, self.status_day[idx], self.established[idx]
            ),
            "address": at(self.address, self.address_after, self.address_month),
            "region_code": at(self.region_code, self.region_after, self.address_month),
            "legal_rep": at(self.legal_rep, self.rep_after, self.rep_month),
            "capital": at(self.capital, self.capital_after, self.capital_month),
        }


def empty_firms(n: int) -> Firms:
    """A table of ``n`` blank firms (callers fill every column)."""
    s = np.full(n, "", dtype=STR)
    z = np.zeros(n, dtype=np.int64)
    never = np.full(n, NEVER, dtype=np.int64)
    day = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    nan = np.full(n, np.nan)
    return Firms(
        credit_code=s.copy(),
        name=s.copy(),
        brand=s.copy(),
        word=s.copy(),
        form=z.copy(),
        entity_form=s.copy(),
        industry_code=s.copy(),
        industry_label=s.copy(),
        scope=s.copy(),
        finance_like=np.zeros(n, dtype=bool),
        licence=s.copy(),
        role=np.full(n, ROLE_NORMAL, dtype=STR),
        scheme=np.full(n, -1, dtype=np.int64),
        established=day.copy(),
        established_month=z.copy(),
        capital=nan.copy(),
        paid_in=nan.copy(),
        headcount=z.copy(),
        district=z.copy(),
        building=z.copy(),
        address=s.copy(),
        region_code=s.copy(),
        operating_address=s.copy(),
        operating_region=s.copy(),
        authority=s.copy(),
        phone=s.copy(),
        legal_rep=np.full(n, -1, dtype=np.int64),
        group=np.full(n, -1, dtype=np.int64),
        status_before=s.copy(),
        status_after=s.copy(),
        status_month=never.copy(),
        status_day=day.copy(),
        name_after=s.copy(),
        name_month=never.copy(),
        address_after=s.copy(),
        region_after=s.copy(),
        district_after=z.copy(),
        address_month=never.copy(),
        rep_after=np.full(n, -1, dtype=np.int64),
        rep_month=never.copy(),
        capital_after=nan.copy(),
        capital_month=never.copy(),
    )
