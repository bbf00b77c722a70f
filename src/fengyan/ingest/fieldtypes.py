"""Vectorised parsers for each schema field type.

Each parser takes the trimmed source strings of one column (an Arrow string array,
null where empty) and returns the typed values plus a list of :class:`Check` masks
naming the records that failed and why. The common path is whole-column Arrow/NumPy
work; scalar code runs only for the few values that fail, to explain them, or for
rare field types.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fengyan.schema import FieldSpec, FieldType
from fengyan.standards import bankcard, idcard, orgcode, phone, regno, uscc
from fengyan.standards.masking import mask as mask_value
from fengyan.standards.regions import region_table
from fengyan.standards.result import CheckResult

DEFAULT_MAX_LENGTH = {FieldType.NAME: 300, FieldType.TEXT: 1_000_000}
STRING_MAX_LENGTH = 2_000
_UNITS = {"千": 1e3, "万": 1e4, "亿": 1e8}
_CURRENCY_WORDS = {
    "人民币": "CNY",
    "元": "CNY",
    "美元": "USD",
    "港元": "HKD",
    "港币": "HKD",
    "欧元": "EUR",
    "日元": "JPY",
    "英镑": "GBP",
}
_TRUE = {"是", "有", "true", "yes", "y", "1", "t"}
_FALSE = {"否", "无", "false", "no", "n", "0", "f"}


@dataclass
class Check:
    """Records (by mask) that failed one rule; ``explain`` details a failing value."""

    mask: np.ndarray
    reason: str
    severity: str = "error"
    params: dict[str, Any] = field(default_factory=dict)
    explain: Callable[[str], dict[str, Any]] | None = None


@dataclass
class Context:
    """What a parser may need besides the values."""

    spec: FieldSpec
    today: date
    scale: float | None = None
    value_map: dict[str, str] | None = None
    pseudonym_key: bytes = b""


Parsed = tuple[pa.Array, list[Check]]


def _np_mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _invalid(original: pa.Array, parsed: pa.Array) -> np.ndarray:
    """Present in the source but unparseable."""
    return _np_mask(pc.and_(pc.is_valid(original), pc.is_null(parsed)))


def _upper_compact(s: pa.Array) -> pa.Array:
    s = pc.utf8_normalize(s, "NFKC")
    return pc.utf8_upper(pc.replace_substring_regex(s, r"[\s\-]", ""))


def parse_text(s: pa.Array, ctx: Context) -> Parsed:
    """string / text / name: kept as given (trimmed); only the length is checked."""
    limit = ctx.spec.max_length or DEFAULT_MAX_LENGTH.get(ctx.spec.type, STRING_MAX_LENGTH)
    if ctx.spec.type is FieldType.NAME:
        s = pc.replace_substring_regex(s, r"\s+", " ")
    lengths = pc.utf8_length(s)
    too_long = _np_mask(pc.greater(lengths, limit))
    return s, [
        Check(
            too_long,
            "ingest_too_long",
            params={"limit": limit},
            explain=lambda v: {"length": len(v)},
        )
    ]


def parse_date(s: pa.Array, ctx: Context) -> Parsed:
    """Dates as 2024-06-30, 2024/6/30, 2024.06.30, 20240630 or 2024年6月30日."""
    norm = pc.replace_substring_regex(
        pc.utf8_normalize(s, "NFKC"), r"^(\d{4})(\d{2})(\d{2})", r"\1-\2-\3"
    )
    # A month alone (2024-05, 2024年5月) means its first day: monthly records use it.
    norm = pc.replace_substring_regex(norm, r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$", r"\1-\2-1")
    parts = pc.extract_regex(
        norm,
        r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?(?:[T\s].*)?$",
    )
    days = _ymd_to_days(parts)
    missing = np.isnan(days)
    values = pa.array(np.nan_to_num(days).astype(np.int32), mask=missing).cast(pa.date32())
    checks = [Check(_invalid(s, values), "ingest_bad_date")]
    if ctx.spec.not_future:
        today = np.datetime64(ctx.today, "D").astype(np.int64)
        future = np.zeros(len(s), dtype=bool)
        valid = ~np.isnan(days)
        future[valid] = days[valid] > today
        checks.append(Check(future, "ingest_future_date", params={"today": ctx.today.isoformat()}))
    return values, checks


def _group_int(parts: pa.Array, name: str, missing: int) -> np.ndarray:
    """An integer regex group; unmatched (or empty optional) groups become ``missing``."""
    g = pc.struct_field(parts, name)
    g = pc.if_else(pc.equal(g, ""), pa.scalar(None, pa.string()), g)
    raw = pc.cast(g, pa.int64()).to_numpy(zero_copy_only=False)
    ints: np.ndarray = np.nan_to_num(np.asarray(raw, dtype=float), nan=missing).astype(np.int64)
    return ints


def _ymd_to_days(parts: pa.Array) -> np.ndarray:
    """Days since 1970 as float (NaN where the date does not exist, e.g. 2023-02-30)."""
    y, m, d = (_group_int(parts, g, -1) for g in ("y", "m", "d"))
    ok = (y >= 1800) & (y <= 2200) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    months = np.where(ok, (y - 1970) * 12 + (m - 1), 0).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + np.where(ok, d - 1, 0).astype("timedelta64[D]")
    # A day that overflows its month (2023-02-30) lands in the next month: reject it.
    ok &= days.astype("datetime64[M]") == months
    return np.where(ok, days.astype(np.int64), np.nan)


def parse_datetime(s: pa.Array, ctx: Context) -> Parsed:
    """Datetimes; without an explicit offset they are China time (UTC+8)."""
    norm = pc.utf8_normalize(s, "NFKC")
    parts = pc.extract_regex(
        norm,
        r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
        r"(?:[T\s]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?\s*"
        r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    )
    days = _ymd_to_days(parts)

    def num(name: str, hi: int) -> np.ndarray:
        v = _group_int(parts, name, 0)
        return np.where((v >= 0) & (v <= hi), v, -1)

    hh, mm, ss = num("H", 23), num("M", 59), num("S", 59)
    tz = pc.struct_field(parts, "tz").to_pylist()
    offset = (
        np.array([_tz_minutes(z) for z in tz], dtype=np.int64) if any(tz) else np.full(len(s), 480)
    )
    ok = ~np.isnan(days) & (hh >= 0) & (mm >= 0) & (ss >= 0)
    secs = np.where(
        ok, np.nan_to_num(days).astype(np.int64) * 86400 + hh * 3600 + mm * 60 + ss - offset * 60, 0
    )
    values = pa.array(secs * 1_000_000, type=pa.int64(), mask=~ok).cast(
        pa.timestamp("us", tz="UTC")
    )
    checks = [Check(_invalid(s, values), "ingest_bad_datetime")]
    if ctx.spec.not_future:
        limit = (np.datetime64(ctx.today, "D").astype(np.int64) + 1) * 86400 - 8 * 3600
        checks.append(
            Check(
                ok & (secs >= limit), "ingest_future_date", params={"today": ctx.today.isoformat()}
            )
        )
    return values, checks


def _tz_minutes(z: str | None) -> int:
    if not z:
        return 480
    if z == "Z":
        return 0
    sign = -1 if z[0] == "-" else 1
    digits = z[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:]))


def parse_number(s: pa.Array, ctx: Context) -> Parsed:
    """Numbers with optional thousands separators and 千/万/亿 units (money, counts, %)."""
    norm = pc.utf8_normalize(s, "NFKC")
    norm = pc.replace_substring_regex(norm, r"[,，\s¥￥]|人民币|RMB|CNY|元|人|%", "")
    parts = pc.extract_regex(norm, r"^(?P<n>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<u>[千万亿]?)$")
    n = pc.cast(pc.struct_field(parts, "n"), pa.float64())
    unit = pc.struct_field(parts, "u").to_numpy(zero_copy_only=False)
    mult = np.ones(len(s))
    for word, factor in _UNITS.items():
        mult[unit == word] = factor
    values_np = (
        np.asarray(n.to_numpy(zero_copy_only=False), dtype=float) * mult * (ctx.scale or 1.0)
    )
    if ctx.spec.unit == "fraction":
        values_np = values_np * 100
    missing = _np_mask(pc.is_null(n))
    checks = []
    if ctx.spec.type is FieldType.INTEGER:
        frac = ~missing & (np.nan_to_num(values_np) % 1 != 0)
        missing = missing | frac
    values = pa.array(values_np, mask=missing)
    if ctx.spec.type is FieldType.INTEGER:
        values = values.cast(pa.int64(), safe=False)
    checks.append(Check(_invalid(s, values), "ingest_bad_number"))
    filled = np.nan_to_num(values_np, nan=0.0)
    if ctx.spec.min is not None:
        checks.append(
            Check(
                ~missing & (filled < ctx.spec.min),
                "ingest_below_min",
                params={"min": f"{ctx.spec.min:g}"},
            )
        )
    if ctx.spec.max is not None:
        checks.append(
            Check(
                ~missing & (filled > ctx.spec.max),
                "ingest_above_max",
                params={"max": f"{ctx.spec.max:g}"},
            )
        )
    return values, checks


def parse_boolean(s: pa.Array, ctx: Context) -> Parsed:
    """是/否, true/false, yes/no, 1/0."""
    low = pc.utf8_lower(s)
    values = pc.if_else(
        pc.is_in(low, pa.array(sorted(_TRUE))),
        True,
        pc.if_else(pc.is_in(low, pa.array(sorted(_FALSE))), False, None),
    )
    return values, [Check(_invalid(s, values), "ingest_bad_boolean")]


def _apply_map(s: pa.Array, mapping: dict[str, str] | None) -> pa.Array:
    if not mapping:
        return s
    keys = pa.array(list(mapping))
    idx = pc.index_in(s, value_set=keys)
    mapped = pc.take(pa.array(list(mapping.values())), idx)
    return pc.coalesce(mapped, s)


def parse_enum(s: pa.Array, ctx: Context) -> Parsed:
    """One of the schema's values (after the mapping's value translations)."""
    s = _apply_map(s, ctx.value_map)
    allowed = pa.array(list(ctx.spec.values or ()))
    bad = _np_mask(pc.and_(pc.is_valid(s), pc.invert(pc.is_in(s, value_set=allowed))))
    return s, [Check(bad, "ingest_bad_enum", params={"allowed": " / ".join(ctx.spec.values or ())})]


def _detail(result: CheckResult) -> dict[str, Any]:
    """A standards finding as a message code and parameters, rendered when displayed."""
    return {"detail_code": f"std_{result.reason}", "detail_params": dict(result.params)}


def parse_credit_code(s: pa.Array, ctx: Context) -> Parsed:
    """统一社会信用代码 (GB 32100-2015), validated with its check character."""
    norm = _upper_compact(s)
    present = _np_mask(pc.is_valid(norm))
    ok = uscc.valid_mask(np.asarray(norm.to_numpy(zero_copy_only=False), dtype=object))
    bad = present & ~ok
    # Positions 9–17 are an organisation code with its own check digit. A wrong one means
    # the string passed the mod-31 check by chance (3 of 74 such strings in real data are
    # not credit codes at all): keep the record, flag it for review.
    embedded = pc.utf8_slice_codeunits(norm, 8, 17)
    org_ok = orgcode.valid_mask(np.asarray(embedded.to_numpy(zero_copy_only=False), dtype=object))
    return norm, [
        Check(bad, "ingest_bad_identifier", explain=lambda v: _detail(uscc.check(v))),
        Check(ok & ~org_ok, "ingest_uscc_org_code_mismatch", severity="warning"),
    ]


def parse_id_number(s: pa.Array, ctx: Context) -> Parsed:
    """居民身份证号码 (GB 11643-1999) with its MOD 11-2 check."""
    norm = _upper_compact(s)
    present = _np_mask(pc.is_valid(norm))
    ok = idcard.valid_mask(np.asarray(norm.to_numpy(zero_copy_only=False), dtype=object))
    legacy = ok & _np_mask(pc.equal(pc.utf8_length(norm), 15))
    if legacy.any():
        # Legacy 15-digit numbers become their 18-digit form, so one person hashes alike.
        fixed = [
            idcard.to_18(v) if is_old else v
            for v, is_old in zip(norm.to_pylist(), legacy, strict=True)
        ]
        norm = pa.array(fixed, type=pa.string())
    return norm, [
        Check(present & ~ok, "ingest_bad_identifier", explain=lambda v: _detail(idcard.check(v)))
    ]


def _scalar(
    fn: Callable[[str], str | None], reason: str, normalise: bool = True, severity: str = "error"
) -> Callable[[pa.Array, Context], Parsed]:
    """A parser for rare field types: a scalar normaliser applied to present values only."""

    def parse(s: pa.Array, ctx: Context) -> Parsed:
        src = _upper_compact(s) if normalise else s
        vals = src.to_pylist()
        out = [fn(v) if v is not None else None for v in vals]
        values = pa.array(out, type=pa.string())
        return values, [Check(_invalid(src, values), reason, severity)]

    return parse


def _org(v: str) -> str | None:
    return v if orgcode.is_valid(v) else None


def _regno(v: str) -> str | None:
    return v if regno.is_valid(v) else None


def _ip(v: str) -> str | None:
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        return None


def parse_phone(s: pa.Array, ctx: Context) -> Parsed:
    """Mainland mobile and landline numbers, normalised to E.164."""
    values = pa.array(phone.normalize_many(s.to_pylist()), type=pa.string())
    return values, [Check(_invalid(s, values), "ingest_bad_phone")]


def parse_bank_card(s: pa.Array, ctx: Context) -> Parsed:
    """Bank card numbers: bad length/characters reject, a Luhn mismatch only warns."""
    norm = _upper_compact(s)
    results = [bankcard.check(v) if v is not None else None for v in norm.to_pylist()]
    bad = np.array(
        [r is not None and not r.valid and r.reason != "luhn_mismatch" for r in results], dtype=bool
    )
    luhn = np.array([r is not None and r.reason == "luhn_mismatch" for r in results], dtype=bool)
    return norm, [
        Check(bad, "ingest_bad_identifier", explain=lambda v: _detail(bankcard.check(v))),
        Check(luhn, "ingest_luhn_mismatch", severity="warning"),
    ]


def _regex(
    pattern: str, reason: str, upper: bool = False, lower: bool = False
) -> Callable[[pa.Array, Context], Parsed]:
    def parse(s: pa.Array, ctx: Context) -> Parsed:
        v = pc.utf8_normalize(s, "NFKC")
        v = pc.utf8_upper(v) if upper else pc.utf8_lower(v) if lower else v
        v = _apply_map(v, ctx.value_map)
        ok = pc.match_substring_regex(v, pattern)
        values = pc.if_else(ok, v, pa.scalar(None, pa.string()))
        return values, [Check(_invalid(s, values), reason)]

    return parse


def parse_currency(s: pa.Array, ctx: Context) -> Parsed:
    """ISO 4217 codes; common Chinese currency words are translated."""
    mapped = _apply_map(pc.utf8_normalize(s, "NFKC"), {**_CURRENCY_WORDS, **(ctx.value_map or {})})
    return _regex(r"^[A-Z]{3}$", "ingest_bad_currency", upper=True)(
        mapped, Context(ctx.spec, ctx.today)
    )


def parse_region_code(s: pa.Array, ctx: Context) -> Parsed:
    """GB/T 2260 / NBS codes (6, 9 or 12 digits), stored as 12 digits; unknown codes warn."""
    digits = pc.utf8_normalize(s, "NFKC")
    ok = pc.match_substring_regex(digits, r"^(\d{6}|\d{9}|\d{12})$")
    padded = pc.utf8_rpad(pc.if_else(ok, digits, pa.scalar(None, pa.string())), 12, "0")
    # Few distinct codes per column: look each up once, then match the column in Arrow.
    table = region_table()
    distinct = [
        c for c in pc.unique(padded.drop_null()).to_pylist() if table.index_of(c) is not None
    ]
    known = pc.is_in(padded, value_set=pa.array(distinct, pa.string()))
    unknown = _np_mask(pc.and_(pc.is_valid(padded), pc.invert(known)))
    return padded, [
        Check(_invalid(s, padded), "ingest_bad_region_code"),
        Check(unknown, "ingest_unknown_region_code", severity="warning"),
    ]


def parse_ref(s: pa.Array, ctx: Context) -> Parsed:
    """The key of another record; credit codes are normalised so that joins match."""
    looks_like_code = pc.match_substring_regex(_upper_compact(s), r"^[0-9A-HJ-NPQRTUWXY]{18}$")
    return pc.if_else(looks_like_code, _upper_compact(s), s), []


PARSERS: dict[FieldType, Callable[[pa.Array, Context], Parsed]] = {
    FieldType.STRING: parse_text,
    FieldType.TEXT: parse_text,
    FieldType.NAME: parse_text,
    FieldType.DATE: parse_date,
    FieldType.DATETIME: parse_datetime,
    FieldType.MONEY: parse_number,
    FieldType.NUMBER: parse_number,
    FieldType.INTEGER: parse_number,
    FieldType.PERCENT: parse_number,
    FieldType.BOOLEAN: parse_boolean,
    FieldType.ENUM: parse_enum,
    FieldType.CREDIT_CODE: parse_credit_code,
    FieldType.ORG_CODE: _scalar(_org, "ingest_bad_identifier"),
    FieldType.REG_NO: _scalar(_regno, "ingest_bad_identifier"),
    FieldType.ID_NUMBER: parse_id_number,
    FieldType.BANK_CARD: parse_bank_card,
    FieldType.PHONE: parse_phone,
    FieldType.EMAIL: _regex(
        r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$", "ingest_bad_email", lower=True
    ),
    FieldType.URL: _regex(r"^(?i)https?://[^\s/$.?#][^\s]*$", "ingest_bad_url"),
    FieldType.DOMAIN: _regex(
        r"^([a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", "ingest_bad_domain", lower=True
    ),
    FieldType.IP: _scalar(_ip, "ingest_bad_ip", normalise=False),
    FieldType.COUNTRY: _regex(r"^[A-Z]{2}$", "ingest_bad_country", upper=True),
    FieldType.REGION_CODE: parse_region_code,
    FieldType.INDUSTRY_CODE: _regex(
        r"^([A-T]|[A-T]?\d{2,4})$", "ingest_bad_industry_code", upper=True
    ),
    FieldType.CURRENCY: parse_currency,
    FieldType.REF: parse_ref,
}

ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.DATE: pa.date32(),
    FieldType.DATETIME: pa.timestamp("us", tz="UTC"),
    FieldType.MONEY: pa.float64(),
    FieldType.NUMBER: pa.float64(),
    FieldType.PERCENT: pa.float64(),
    FieldType.INTEGER: pa.int64(),
    FieldType.BOOLEAN: pa.bool_(),
}


def arrow_type(spec: FieldSpec) -> pa.DataType:
    """The Arrow type a field is stored as in the lake."""
    base = ARROW_TYPES.get(spec.type, pa.string())
    return pa.list_(base) if spec.multiple else base


def pseudonymise(values: pa.Array, spec: FieldSpec, key: bytes) -> tuple[pa.Array, pa.Array]:
    """Keyed hash (HMAC-SHA256, hex) and masked form of each present value."""
    raw = values.to_pylist()
    hashes = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() if v else None for v in raw]
    masked = [mask_value(spec.mask, v) if v and spec.mask else None for v in raw]
    return pa.array(hashes, type=pa.string()), pa.array(masked, type=pa.string())
