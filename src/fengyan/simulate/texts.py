"""Chinese text for ads, articles, complaints, job posts and judgments.

Templates live in ``texts.yaml``; this module fills them. Promised returns are written the
many ways promoters write them — 年化18%, 月息2分, 日息千分之三, 1.5倍返还, 百分之十八 — each
with the annual rate it means, which goes to ground truth so yield extraction can be
scored. Amounts are written 30万元, 1,200,000元, 三百余万元 or 1.2亿.

The risk events each template expresses (``events:`` in ``texts.yaml``) are ground truth
only: :func:`text_events` matches written texts back to their templates after the fact, so
labelling draws no random numbers and changes no text.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from fengyan.yamlstrict import load_yaml

_DIGITS = "零一二三四五六七八九"


@cache
def templates() -> dict[str, Any]:
    """The shipped template file."""
    path = resources.files("fengyan.simulate").joinpath("texts.yaml")
    data: dict[str, Any] = load_yaml(path.read_text(encoding="utf-8"))
    return data


def choose(rng: np.random.Generator, options: list[str]) -> str:
    """One option at random."""
    return options[int(rng.integers(0, len(options)))]


def fill(template: str, **slots: object) -> str:
    """``template`` with its slots filled (unknown slots stay visible as {name})."""
    return template.format_map(_Slots(slots))


class _Slots(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def chinese_number(n: int) -> str:
    """Small integers in Chinese numerals: 18 → 十八, 36 → 三十六, 120 → 一百二十."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _DIGITS[n // 10] + "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        tail = "" if rest == 0 else ("零" + _DIGITS[rest] if rest < 10 else chinese_number(rest))
        if 10 <= rest < 20:
            tail = "一" + tail
        return _DIGITS[n // 100] + "百" + tail
    return str(n)


def _pct(rng: np.random.Generator, value: float) -> str:
    """A percentage as promoters write it."""
    r = round(value, 1)
    whole = r == int(r)
    style = int(rng.integers(0, 6))
    if style == 0 and whole and r < 1000:
        return "百分之" + chinese_number(int(r))
    if style == 1 and whole:
        return f"{int(r)}个点"
    if style == 2:
        return f"{r:.1f}%"
    return f"{int(r)}%" if whole else f"{r}%"


def yield_phrase(rng: np.random.Generator, fmt: str, annual: float) -> tuple[str, float]:
    """A promise of return in format ``fmt`` close to ``annual`` % a year.

    Returns the phrase and the annual rate (percent, simple interest) it states exactly.
    """
    if fmt == "monthly_fen":
        fen = max(1.0, round(annual / 12 * 2) / 2)  # 1分 = 1 % a month
        text = f"{fen:g}" if rng.random() < 0.6 or fen != int(fen) else chinese_number(int(fen))
        phrase = choose(rng, ["月息{v}分", "月息{v}分，按月付息", "每月{v}分利"])
        return fill(phrase, v=text), fen * 12
    if fmt == "monthly_pct":
        m = max(0.5, round(annual / 12, 1))
        return fill(choose(rng, ["月收益{v}", "每月返{v}", "月回报率{v}"]), v=_pct(rng, m)), m * 12
    if fmt == "daily_permille":
        d = max(1, round(annual / 36.5))
        word = chinese_number(d) if rng.random() < 0.7 else str(d)
        text = choose(rng, ["日息千分之{v}", "每天收益千分之{v}", "日利率{n}‰"])
        return fill(text, v=word, n=d), d * 36.5
    if fmt == "daily_pct":
        daily = max(0.1, round(annual / 365, 1))
        text = choose(rng, ["日收益{v}", "每天返利{v}", "日化{v}"])
        return fill(text, v=_pct(rng, daily)), daily * 365
    if fmt == "multiple":
        months = int(rng.choice([6, 10, 12, 18, 24]))
        x = max(1.1, round(1 + annual / 100 * months / 12, 1))
        options = [f"{x:g}倍返还", f"{months}个月{x:g}倍收益", f"投一万返{x:g}万"]
        if abs(x - 2) < 0.05:
            options.append(f"{chinese_number(months)}个月翻一番")
        return choose(rng, options), (x - 1) * 100 * 12 / months
    if fmt == "bonus":
        base = round(annual * 0.8, 1)
        extra = round(annual - base, 1)
        text = choose(rng, ["年化{b}另加{e}新手奖励", "年化{b}，再送{e}加息券", "预期年化{b}+{e}"])
        return fill(text, b=_pct(rng, base), e=_pct(rng, extra)), base + extra
    if fmt == "referral":
        fee = int(rng.choice([300, 500, 1000, 2000]))
        text = choose(
            rng, ["推荐一人奖励{f}元，三级分润", "拉一人返{f}元，团队业绩再提成", "直推奖{f}元/人"]
        )
        return fill(text, f=fee), annual
    phrase = choose(rng, ["年化收益{v}", "年化{v}", "年收益率高达{v}", "预期年化收益率{v}"])
    return fill(phrase, v=_pct(rng, annual)), annual


def amount_phrase(rng: np.random.Generator, yuan: float) -> str:
    """An amount the way people write it: 30万元, 1,200,000元, 三百余万元, 1.2亿元."""
    style = int(rng.integers(0, 4))
    if yuan >= 1e8:
        return f"{yuan / 1e8:.1f}亿元" if style else f"{yuan / 1e8:.2f}亿余元"
    if yuan >= 1e4:
        wan = yuan / 1e4
        if style == 0:
            return f"{yuan:,.0f}元"
        if style == 1 and wan >= 10 and int(wan) < 1000:
            lead = int(wan // 10 ** int(np.log10(wan))) * 10 ** int(np.log10(wan))
            return chinese_number(int(lead)) + "余万元"
        return f"{wan:.0f}万元" if wan >= 10 else f"{wan:.1f}万元"
    return f"{yuan:.0f}元"


def salary_phrase(rng: np.random.Generator, low: int, high: int) -> str:
    """A salary range as job sites write it: 8千-1.5万/月, 6000-12000元, 底薪5000."""
    style = int(rng.integers(0, 3))
    if style == 0:
        return f"{low}-{high}元/月"
    if style == 1:
        lo = f"{low / 1000:g}千" if low < 10000 else f"{low / 10000:g}万"
        hi = f"{high / 1000:g}千" if high < 10000 else f"{high / 10000:g}万"
        return f"{lo}-{hi}/月"
    return f"底薪{low}元"


# ---------------------------------------------------------------------------------------------
# Event labels of the templates (ground truth for the event classifier)

_SLOT = re.compile(r"\{[a-z_]+\}")
_RE2_SPECIAL = set("\\.^$*+?()[]{}|")
CHARGE = "{charge}"


class TemplateLabelError(ValueError):
    """The ``events:`` section of ``texts.yaml`` does not fit the templates."""


@dataclass(frozen=True, slots=True)
class LabelPattern:
    """One template (with its charge filled in, if it names one) as an anchored regex."""

    path: str  # e.g. article.collapse.text[1]
    regex: str  # RE2 syntax, slots as wildcards
    literal: int  # characters the template fixes: the more, the more specific
    events: tuple[str, ...]


def _lists(node: Any, path: str) -> dict[str, list[str]]:
    """Every template list (or single template) under ``node``, by dotted path."""
    if isinstance(node, str):
        return {path: [node]}
    if isinstance(node, list):
        return {path: [str(t) for t in node]} if all(isinstance(t, str) for t in node) else {}
    if isinstance(node, dict):
        out: dict[str, list[str]] = {}
        for k, v in node.items():
            out.update(_lists(v, f"{path}.{k}" if path else str(k)))
        return out
    return {}


def _escape(literal: str) -> str:
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in literal)


@cache
def template_events() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Template path → its templates with the event codes each expresses (``{charge}`` kept).

    Every template list named in ``events.fields`` must be covered by ``events.templates``
    exactly once, and a per-template label list must have one entry per template.
    """
    tpl = templates()
    spec = tpl["events"]
    all_lists = _lists({k: v for k, v in tpl.items() if k != "events"}, "")
    labels: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for key, value in spec["templates"].items():
        under = {p: ts for p, ts in all_lists.items() if p == key or p.startswith(key + ".")}
        if not under:
            raise TemplateLabelError(f"texts.yaml events.templates: {key}: no such template list")
        value = value or []
        per_template = bool(value) and all(isinstance(v, list) for v in value)
        for p, ts in under.items():
            if p in labels:
                raise TemplateLabelError(f"texts.yaml events.templates: {p} labelled twice")
            if per_template and len(value) != len(ts):
                raise TemplateLabelError(
                    f"texts.yaml events.templates: {key} has {len(value)} label lists "
                    f"for {len(ts)} templates"
                )
            labels[p] = [
                (t, tuple(str(e) for e in (value[i] if per_template else value)))
                for i, t in enumerate(ts)
            ]
    for fields in spec["fields"].values():
        for paths in fields.values():
            for pattern in paths:
                hit = [
                    p
                    for p in all_lists
                    if fnmatch.fnmatchcase(p, pattern)
                    or p.startswith(pattern + ".")
                    or p == pattern
                ]
                missing = [p for p in hit if p not in labels]
                if not hit or missing:
                    raise TemplateLabelError(
                        f"texts.yaml events.fields: {pattern}: unlabelled {missing or pattern}"
                    )
    return labels


@cache
def label_patterns(record_type: str, field: str) -> tuple[LabelPattern, ...]:
    """The templates a ``field`` of ``record_type`` records is filled from, as regexes."""
    spec = templates()["events"]
    charges: dict[str, list[str]] = spec["charges"]
    labelled = template_events()
    out: list[LabelPattern] = []
    for pattern in spec["fields"].get(record_type, {}).get(field, []):
        for path, items in labelled.items():
            if not (
                fnmatch.fnmatchcase(path, pattern)
                or path == pattern
                or path.startswith(pattern + ".")
            ):
                continue
            for i, (template, events) in enumerate(items):
                variants = (
                    {charge: tuple(evs) for charge, evs in charges.items()}
                    if CHARGE in template or CHARGE in events
                    else {"": ()}
                )
                for charge, charge_events in variants.items():
                    filled = template.replace(CHARGE, charge) if charge else template
                    parts = _SLOT.split(filled)
                    regex = "(?s)^" + ".*".join(_escape(p) for p in parts) + "$"
                    evs: list[str] = []
                    for e in events:
                        for code in charge_events if e == CHARGE else (e,):
                            if code not in evs:
                                evs.append(code)
                    out.append(
                        LabelPattern(f"{path}[{i}]", regex, sum(map(len, parts)), tuple(evs))
                    )
    return tuple(out)


def text_events(record_type: str, columns: Mapping[str, Any]) -> np.ndarray:
    """Per record, the events its texts express: codes joined by ``;`` ("" for none).

    ``columns`` holds the record type's text fields (``events.fields``); each text is matched
    to the most specific template it can have been filled from, vectorised per template
    (pyarrow's RE2). A field no template matches (a title the simulator writes in code, such
    as 警情通报) adds nothing. Record types with no text fields get "".
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = templates()["events"]["fields"].get(record_type, {})
    n = len(next(iter(columns.values()))) if columns else 0
    codes: dict[str, int] = {}
    member = np.zeros((n, 0), dtype=bool)
    for field in fields:
        if field not in columns:
            continue
        values = pa.array(
            np.asarray(columns[field], dtype=object), type=pa.string(), from_pandas=True
        )
        best = np.zeros(n, dtype=np.int64)
        chosen = np.full(n, -1, dtype=np.int64)
        patterns = label_patterns(record_type, field)
        for k, lp in enumerate(patterns):
            hit = pc.fill_null(pc.match_substring_regex(values, lp.regex), False)
            better = hit.to_numpy(zero_copy_only=False) & (lp.literal > best)
            best[better] = lp.literal
            chosen[better] = k
        for k, lp in enumerate(patterns):
            rows = chosen == k
            if not rows.any():
                continue
            for code in lp.events:
                if code not in codes:
                    codes[code] = len(codes)
                    member = np.hstack([member, np.zeros((n, 1), dtype=bool)])
                member[rows, codes[code]] = True
    out = np.full(n, "", dtype=object)
    for code in sorted(codes):
        col = member[:, codes[code]]
        out[col] = np.where(out[col] == "", code, out[col] + ";" + code)
    return out
