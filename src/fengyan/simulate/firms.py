"""The firm table: one row per registered market entity, as arrays.

Registry fields that can change during the window (status, name, address, legal
representative, capital) are kept as *before* and *after* values with the month of the
change (``NEVER`` when there is none), so the registry's state at any month is one
vectorised ``where`` and every delivery can be cut from it (see :mod:`.registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from fengyan.simulate.core import STR, Bools, Days, Floats, Ints, Strs
from fengyan.simulate.records import TEXT, ArrowCopies, take

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


class Labels:
    """A text column with few distinct values (legal forms, bureaus, industries, scopes),
    stored as small codes into a vocabulary: read and written like a string array."""

    def __init__(self, values: Strs) -> None:
        encoded = pa.array(
            np.asarray(values, dtype=STR), type=pa.large_string()
        ).dictionary_encode()
        self.words: list[str] = encoded.dictionary.to_pylist()
        self._index = {w: k for k, w in enumerate(self.words)}
        self._table = np.asarray(self.words, dtype=STR)
        self.codes = encoded.indices.to_numpy().astype(np.int32)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, idx: Any) -> Any:
        return self._table[self.codes[idx]]

    def __setitem__(self, idx: Any, value: str) -> None:
        code = self._index.get(value)
        if code is None:
            code = self._index[value] = len(self.words)
            self.words.append(value)
            self._table = np.asarray(self.words, dtype=STR)
        self.codes[idx] = code

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        out: NDArray[Any] = self._table[self.codes]
        return out if dtype is None else out.astype(dtype)

    def arrow(self, idx: Any) -> pa.Array:
        """The values at ``idx`` as Arrow text (for writers)."""
        return take(pa.array(self.words, type=TEXT), self.codes[idx])


@dataclass
class Firms:
    """Every firm of the jurisdiction (index = firm number)."""

    credit_code: Strs
    name: Strs
    brand: Strs
    word: Strs
    form: Ints  # index into params.enterprises.forms
    entity_form: Labels
    industry_code: Strs
    industry_label: Labels
    scope: Labels
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
    authority: Labels
    phone: Strs
    legal_rep: Ints  # person index
    group: Ints
    # Changes during the window: value before, value after, month of change. An "after"
    # value means something only where its month is set (a firm that never moves keeps
    # an empty address_after).
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
    arrow: ArrowCopies = field(default_factory=ArrowCopies, repr=False)

    def __len__(self) -> int:
        return len(self.credit_code)

    def forget(self, names: tuple[str, ...]) -> None:
        """Empty the columns ``names`` (no longer needed: frees their memory)."""
        for name in names:
            setattr(self, name, np.zeros(0, dtype=np.asarray(getattr(self, name)[:0]).dtype))
        for key in ("suffix", "style", "individual"):
            self.extra.pop(key, None)

    def texts(self, name: str, idx: Ints) -> pa.Array:
        """Text column ``name`` at ``idx`` as Arrow text (once the table is final)."""
        return take(self.arrow.get(self, name), idx)

    def take(self, idx: Ints) -> dict[str, NDArray[Any]]:
        """Every array column at ``idx`` (for writers and tests)."""
        skip = ("extra", "arrow")
        return {f.name: getattr(self, f.name)[idx] for f in fields(self) if f.name not in skip}

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

    def state(
        self, idx: Ints, month: int | Ints, only: tuple[str, ...] | None = None
    ) -> dict[str, NDArray[Any]]:
        """The registry state of firms ``idx`` at the end of ``month`` (one per firm, or all);
        ``only`` names the fields wanted (default: all)."""

        def at(before: NDArray[Any], after: NDArray[Any], m: Ints) -> NDArray[Any]:
            changed = m[idx] <= month
            if not changed.any():  # the usual case: no change yet (or ever)
                return np.asarray(before[idx])
            out: NDArray[Any] = np.where(changed, after[idx], before[idx])
            return out

        fields_: dict[str, Callable[[], NDArray[Any]]] = {
            "name": lambda: at(self.name, self.name_after, self.name_month),
            "former_names": lambda: np.where(
                self.name_month[idx] <= month, self.name[idx], ""
            ).astype(STR),
            "status": lambda: at(self.status_before, self.status_after, self.status_month),
            "status_day": lambda: np.where(
                self.status_month[idx] <= month, self.status_day[idx], self.established[idx]
            ),
            "address": lambda: at(self.address, self.address_after, self.address_month),
            "region_code": lambda: at(self.region_code, self.region_after, self.address_month),
            "legal_rep": lambda: at(self.legal_rep, self.rep_after, self.rep_month),
            "capital": lambda: at(self.capital, self.capital_after, self.capital_month),
        }
        return {k: make() for k, make in fields_.items() if only is None or k in only}


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
        entity_form=Labels(s),
        industry_code=s.copy(),
        industry_label=Labels(s),
        scope=Labels(s),
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
        authority=Labels(s),
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
