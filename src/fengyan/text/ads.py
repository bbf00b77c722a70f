"""Ad-compliance rules (违规广告): each violation cites its rule, the statute and the matched span.

The rules are data (``lexicons/ad_rules.yaml``): promises of principal or return
(广告法第二十五条), implied guarantees, claimed government backing, use of state organs' names
(第九条), endorsements, a missing risk warning, fundraising ads, and — when the caller knows
which licences the advertiser holds — an advertised business that needs a licence it lacks.
Offsets are into the text given; matching runs on an offset-preserving fold.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fengyan.text.lexicon import LexiconError, _describe, _parse
from fengyan.text.normalize import fold_aligned
from fengyan.text.promises import (
    Promise,
    PromiseRules,
    _negated,
    extract_promises,
    load_promise_rules,
)

_FILE = "ad_rules.yaml"


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule broken by an ad (offsets into the text given)."""

    rule_id: str
    basis: str  # the statutes cited, e.g. 广告法第二十五条第一款第（一）项
    severity: float  # 0–1
    start: int
    end: int
    span: str


class _Basis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cite: str = Field(min_length=1)
    text: str = Field(min_length=1)
    verified: bool

    @model_validator(mode="after")
    def _flag_unverified(self) -> _Basis:
        # An unverified citation must say so wherever it is shown.
        if not self.verified and "[verify]" not in self.cite:
            raise ValueError("an unverified basis must carry [verify] in its cite")
        return self


class _Licence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    business: str = Field(pattern=r"^[a-z_]+$")
    terms: str = Field(min_length=1)
    licence_types: tuple[str, ...] = Field(min_length=1)
    basis: tuple[str, ...] = Field(min_length=1)
    severity: float = Field(ge=0.0, le=1.0)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name: dict[str, str]
    basis: tuple[str, ...] = Field(min_length=1)
    severity: float = Field(ge=0.0, le=1.0)
    promises: tuple[str, ...] = ()
    severity_by_rate: tuple[tuple[float, float], ...] = ()
    regex: str | None = None
    negatable: bool = False
    requires: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    licences: tuple[_Licence, ...] = ()

    @model_validator(mode="after")
    def _one_matcher(self) -> _Rule:
        ways = [
            bool(self.promises),
            self.regex is not None,
            bool(self.requires),
            bool(self.licences),
        ]
        if sum(ways) != 1:
            raise ValueError("a rule needs exactly one of promises, regex, requires, licences")
        if set(self.name) != {"zh", "en"}:
            raise ValueError("name needs zh and en")
        return self


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bases: dict[str, _Basis]
    rules: tuple[_Rule, ...]


@dataclass(frozen=True)
class AdRules:
    """Compiled ad rules."""

    spec: _Spec
    regex: dict[str, re.Pattern[str]]  # rule id or rule id/business → compiled regex

    def cite(self, ids: tuple[str, ...]) -> str:
        """The citations of ``ids`` joined for display."""
        return "；".join(self.spec.bases[i].cite for i in ids)


def _licence_types() -> frozenset[str]:
    from fengyan.schema.loader import load_schema

    values = load_schema().get("Licence").fields["licence_type"].values
    return frozenset(values or ())


def load_ad_rules_from(path: Path | None = None) -> AdRules:
    """Load and check ``ad_rules.yaml`` (the packaged one by default).

    Errors name the file and the rule: unknown fields, unknown bases, bad regexes, licence
    types that the Licence schema does not define, duplicate rule ids.
    """
    if path is None:
        text = resources.files("fengyan.text").joinpath("lexicons", _FILE).read_text("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    raw: Any = _parse(_FILE, text)
    if isinstance(raw, dict):
        for i, r in enumerate(raw.get("rules") or []):
            if isinstance(r, dict):
                try:
                    _Rule.model_validate(r)
                except ValidationError as exc:
                    raise LexiconError(
                        f"{_FILE}: rule {r.get('id', f'#{i + 1}')!r}: {_describe(exc)}"
                    ) from exc
    try:
        spec = _Spec.model_validate(raw)
    except ValidationError as exc:
        raise LexiconError(f"{_FILE}: {_describe(exc)}") from exc
    known_types = _licence_types()
    compiled: dict[str, re.Pattern[str]] = {}
    seen: set[str] = set()

    def comp(key: str, rx: str) -> None:
        try:
            compiled[key] = re.compile(rx)
        except re.error as exc:
            raise LexiconError(f"{_FILE}: rule {key!r}: bad regex: {exc}") from exc

    for rule in spec.rules:
        if rule.id in seen:
            raise LexiconError(f"{_FILE}: rule {rule.id!r} is listed twice")
        seen.add(rule.id)
        for b in rule.basis + tuple(x for lic in rule.licences for x in lic.basis):
            if b not in spec.bases:
                raise LexiconError(f"{_FILE}: rule {rule.id!r}: unknown basis {b!r}")
        if rule.regex is not None:
            comp(rule.id, rule.regex)
        for lic in rule.licences:
            unknown = set(lic.licence_types) - known_types
            if unknown:
                raise LexiconError(
                    f"{_FILE}: rule {rule.id!r}: business {lic.business!r}: licence types "
                    f"{sorted(unknown)} are not in the Licence schema"
                )
            comp(f"{rule.id}/{lic.business}", lic.terms)
    return AdRules(spec, compiled)


@cache
def load_ad_rules() -> AdRules:
    """The packaged ad rules, compiled once per process."""
    return load_ad_rules_from(None)


def _piecewise(points: tuple[tuple[float, float], ...], x: float) -> float:
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def check_ad(
    text: str | None,
    *,
    licences: frozenset[str] | None = None,
    rules: AdRules | None = None,
    promise_rules: PromiseRules | None = None,
) -> list[Violation]:
    """Every rule ``text`` breaks, in reading order (``None`` or ``""`` gives ``[]``).

    ``licences`` are the licence types the advertiser holds (the Licence schema's
    ``licence_type`` values, valid licences only); ``None`` means unknown and skips the
    licence rule. One violation per rule and matched span; the licence rule reports the
    first mention of each business the advertiser is not licensed for.
    """
    if not text:
        return []
    r = rules or load_ad_rules()
    pr = promise_rules or load_promise_rules()
    folded = fold_aligned(text)
    promises: list[Promise] = extract_promises(text, promise_rules)
    out: list[Violation] = []

    def add(rule_id: str, basis: tuple[str, ...], severity: float, s: int, e: int) -> None:
        out.append(Violation(rule_id, r.cite(basis), round(severity, 3), s, e, text[s:e]))

    for rule in r.spec.rules:
        if rule.promises:
            for p in promises:
                if p.kind not in rule.promises:
                    continue
                sev = rule.severity
                if rule.severity_by_rate and p.annual_rate is not None:
                    sev = _piecewise(rule.severity_by_rate, p.annual_rate)
                add(rule.id, rule.basis, sev, p.start, p.end)
        elif rule.regex is not None:
            for m in r.regex[rule.id].finditer(folded):
                if m.start() == m.end():
                    continue
                if rule.negatable and _negated(pr, folded, m.start()):
                    continue
                add(rule.id, rule.basis, rule.severity, m.start(), m.end())
        elif rule.requires:
            first = next((p for p in promises if p.kind in rule.requires), None)
            if first is not None and not any(a in folded for a in rule.absent):
                add(rule.id, rule.basis, rule.severity, first.start, first.end)
        elif licences is not None:
            for lic in rule.licences:
                if licences & set(lic.licence_types):
                    continue
                hit = r.regex[f"{rule.id}/{lic.business}"].search(folded)
                if hit is not None and hit.start() < hit.end():
                    add(rule.id, lic.basis, lic.severity, hit.start(), hit.end())
    out.sort(key=lambda v: (v.start, v.end, v.rule_id))
    return out
