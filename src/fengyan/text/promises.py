"""Promise extraction: promised yield as an annual rate, principal, minimum ticket, term, referral.

Promoters write the same promise many ways — 年化18%, 月息2分, 日息千分之三, 每月返还1.5%,
"投1万每月返500", 24个月4.6倍收益, 一年翻倍 — and the Dolphin index's 收益性偏离 dimension needs
one comparable number: the simple annual rate. The phrasings, unit tables, negations and the
loan-cost context are data (``lexicons/promises.yaml``); this module compiles and applies
them. Offsets are into the text given (normally already normalised); matching runs on an
offset-preserving fold, so raw text (full-width, traditional, HTML) works too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fengyan.text.lexicon import LexiconError, _describe, _parse
from fengyan.text.normalize import fold_aligned
from fengyan.text.numbers import parse_number

Kind = Literal["yield", "principal", "min_ticket", "term", "referral"]
Period = Literal["year", "month", "week", "day"]
_FILE = "promises.yaml"
_MACRO = re.compile(r"\{([A-Z]+)\}")
_SENTENCE_END = "。！？!?；;\n"
_CLAUSE_END = _SENTENCE_END + "，,、：:"
_RANGE_SEP = re.compile(r"[-~～至到—－]")


@dataclass(frozen=True, slots=True)
class Promise:
    """One promise found in a text (offsets into the text given)."""

    kind: str  # yield | principal | min_ticket | term | referral
    start: int
    end: int
    span: str
    annual_rate: float | None = None  # simple annual rate, 0.18 = 18 %
    amount_yuan: float | None = None
    term_days: int | None = None


class _Pattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Kind
    regex: str = Field(min_length=1)
    period: Period | None = None
    multiple: float | None = Field(default=None, gt=1.0)
    negatable: bool = False
    example: str = Field(min_length=1)
    note: str = ""


class _Negation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(ge=1, le=20)
    terms: tuple[str, ...]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    macros: dict[str, str]
    units: dict[str, float | dict[Period, float]]
    periods_per_year: dict[Period, float]
    term_days: dict[str, float]
    period_words: dict[str, Period]
    negation: _Negation
    loan_context: tuple[str, ...]
    patterns: tuple[_Pattern, ...]


@dataclass(frozen=True)
class PromiseRules:
    """The compiled promise patterns and unit tables."""

    spec: _Spec
    compiled: tuple[tuple[_Pattern, re.Pattern[str]], ...]

    def fraction(self, token: str, period: Period) -> float | None:
        """Fraction of principal per ``period`` that a rate token means (18% → 0.18)."""
        t = token.replace(" ", "")
        units = self.spec.units
        for prefix, unit in (
            ("百分之", "percent"),
            ("千分之", "permille"),
            ("万分之", "permyriad"),
        ):
            if t.startswith(prefix):
                return _times(parse_number(t[len(prefix) :]), units[unit], period)
        for suffix, unit in (
            ("个百分点", "percent"),
            ("个点", "percent"),
            ("%", "percent"),
            ("‰", "permille"),
            ("‱", "permyriad"),
            ("分", "fen"),
            ("厘", "li"),
        ):
            if t.endswith(suffix):
                return _times(parse_number(t[: -len(suffix)]), units[unit], period)
        return None

    def term(self, token: str) -> float | None:
        """Days in a term token (6个月 → 182.6, 一年 → 365.25)."""
        t = token.replace(" ", "")
        if t in self.spec.term_days:
            return self.spec.term_days[t]
        for unit in sorted(self.spec.term_days, key=len, reverse=True):
            if t.endswith(unit):
                n = parse_number(t[: -len(unit)])
                return None if n is None or n <= 0 else n * self.spec.term_days[unit]
        return None


def _times(value: float | None, unit: float | dict[Period, float], period: Period) -> float | None:
    if value is None:
        return None
    if isinstance(unit, dict):
        if period not in unit:
            return None
        return value * unit[period]
    return value * unit


def _expand(regex: str, macros: dict[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            raise LexiconError(f"{_FILE}: {where}: unknown macro {{{name}}}")
        return "(?:" + macros[name] + ")"

    return _MACRO.sub(sub, regex)


def load_promise_rules_from(path: Path | None = None) -> PromiseRules:
    """Load and compile ``promises.yaml`` (the packaged one by default).

    A malformed entry is an error naming the file and the pattern id; every pattern must
    match its own ``example``.
    """
    if path is None:
        text = resources.files("fengyan.text").joinpath("lexicons", _FILE).read_text("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    raw: Any = _parse(_FILE, text)
    try:
        spec = _Spec.model_validate(raw)
    except ValidationError as exc:
        raise LexiconError(f"{_FILE}: {_describe(exc)}") from exc
    macros: dict[str, str] = {}
    for name, body in spec.macros.items():  # a macro may use the ones before it
        macros[name] = _expand(body, macros, f"macro {name}")
    for unit in ("percent", "permille", "permyriad", "fen", "li"):
        if unit not in spec.units:
            raise LexiconError(f"{_FILE}: units: `{unit}` is missing")
    compiled = []
    seen: set[str] = set()
    for p in spec.patterns:
        if p.id in seen:
            raise LexiconError(f"{_FILE}: pattern {p.id!r} is listed twice")
        seen.add(p.id)
        try:
            rx = re.compile(_expand(p.regex, macros, f"pattern {p.id!r}"))
        except re.error as exc:
            raise LexiconError(f"{_FILE}: pattern {p.id!r}: bad regex: {exc}") from exc
        if "rate" in rx.groupindex and p.period is None:
            raise LexiconError(f"{_FILE}: pattern {p.id!r}: a `rate` group needs a `period`")
        if not rx.search(fold_aligned(p.example)):
            raise LexiconError(
                f"{_FILE}: pattern {p.id!r} does not match its example {p.example!r}"
            )
        compiled.append((p, rx))
    return PromiseRules(spec, tuple(compiled))


@cache
def load_promise_rules() -> PromiseRules:
    """The packaged promise rules, compiled once per process."""
    return load_promise_rules_from(None)


def _bounds(text: str, start: int, end: int, stops: str) -> tuple[int, int]:
    """The clause or sentence around ``[start, end)`` (at most 200 characters each side)."""
    lo = max(0, start - 200)
    a = max((text.rfind(c, lo, start) for c in stops), default=-1)
    a = max(a + 1, lo)
    hi = min(len(text), end + 200)
    found = [i for c in stops if (i := text.find(c, end, hi)) >= 0]
    return a, (min(found) if found else hi)


def _negated(rules: PromiseRules, folded: str, start: int) -> bool:
    a, _ = _bounds(folded, start, start, _CLAUSE_END)
    before = folded[max(a, start - rules.spec.negation.window) : start]
    return any(t in before for t in rules.spec.negation.terms)


def _loan(rules: PromiseRules, folded: str, start: int, end: int) -> bool:
    a, b = _bounds(folded, start, end, _SENTENCE_END)
    sentence = folded[a:b]
    return any(t in sentence for t in rules.spec.loan_context)


def _sentence_term(rules: PromiseRules, folded: str, start: int, end: int) -> float | None:
    """The term stated by a term pattern (期限6个月, 90天到期) in the same sentence."""
    a, b = _bounds(folded, start, end, _SENTENCE_END)
    for p, rx in rules.compiled:
        if p.kind != "term":
            continue
        for m in rx.finditer(folded, a, b):
            if m.start() >= end or m.end() <= start:
                days = rules.term(m.group("term"))
                if days:
                    return days
    return None


def _rate(rules: PromiseRules, token: str, period: Period) -> float | None:
    """A rate token, ranges reduced to their upper bound (the lure), per ``period``."""
    parts = _RANGE_SEP.split(token)
    upper = parts[-1]
    return rules.fraction(upper, period)


def _yield(
    rules: PromiseRules, p: _Pattern, m: re.Match[str], folded: str
) -> tuple[float | None, float | None, float | None]:
    """(annual rate, amount, term days) of a yield match."""
    groups = m.groupdict()
    per_year = rules.spec.periods_per_year
    term = rules.term(groups["term"]) if groups.get("term") else None
    if groups.get("rate") and p.period:
        frac = _rate(rules, groups["rate"], p.period)
        if frac is None:
            return None, None, term
        if groups.get("bonus"):
            frac += rules.fraction(groups["bonus"], p.period) or 0.0
        return frac * per_year[p.period], None, term
    amount = parse_number(groups["amount"]) if groups.get("amount") else None
    if groups.get("gain") is not None:
        gain = parse_number(groups["gain"])
        if not amount or gain is None:
            return None, amount, term
        per = groups.get("per")
        if per:
            return gain / amount * per_year[rules.spec.period_words[per]], amount, term
        mult: float | None = gain / amount
    else:
        mult = p.multiple or (parse_number(groups["mult"]) if groups.get("mult") else None)
    if mult is None:
        return None, amount, term
    if term is None and (groups.get("mult") or groups.get("gain") or p.multiple):
        term = _sentence_term(rules, folded, m.start(), m.end())
    if term is None or mult <= 1:
        return None, amount, term
    return (mult - 1) / (term / 365.25), amount, term


def extract_promises(text: str | None, rules: PromiseRules | None = None) -> list[Promise]:
    """Every promise in ``text``, in reading order; ``None`` or ``""`` gives ``[]``.

    Offsets index ``text`` as given. A yield rate stated as a range gives its upper bound;
    a multiple (1.5倍返还) is annualised with the term in the same sentence, else its rate is
    ``None``; rates in a sentence about borrowing (贷款, 费率 …) are loan costs and are skipped.
    """
    if not text:
        return []
    if rules is None:
        # Cached for the packaged rules: the ad checker and the text stage both ask.
        return list(_extract_default(text))
    return _extract(text, rules)


@lru_cache(maxsize=32)
def _extract_default(text: str) -> tuple[Promise, ...]:
    return tuple(_extract(text, load_promise_rules()))


def _extract(text: str, r: PromiseRules) -> list[Promise]:
    folded = fold_aligned(text)
    taken: list[tuple[int, int]] = []
    out: list[Promise] = []
    for p, rx in r.compiled:
        for m in rx.finditer(folded):
            s, e = m.span()
            if s == e or any(s < b and a < e for a, b in taken):
                continue
            if p.negatable and _negated(r, folded, s):
                continue
            rate: float | None = None
            amount: float | None = None
            days: float | None = None
            if p.kind == "yield":
                if _loan(r, folded, s, e):
                    continue
                rate, amount, days = _yield(r, p, m, folded)
                if p.regex.find("(?P<rate>") >= 0 and rate is None:
                    continue
            elif p.kind == "term":
                days = r.term(m.group("term"))
                if days is None:
                    continue
            elif "amount" in rx.groupindex and m.group("amount"):
                amount = parse_number(m.group("amount"))
                if amount is None:
                    continue
                if p.kind == "min_ticket" and "万" not in m.group("amount") and amount < 1:
                    continue
            taken.append((s, e))
            out.append(
                Promise(
                    kind=p.kind,
                    start=s,
                    end=e,
                    span=text[s:e],
                    annual_rate=None if rate is None else round(rate, 6),
                    amount_yuan=amount,
                    term_days=None if days is None else round(days),
                )
            )
    out.sort(key=lambda x: (x.start, x.end))
    return out
