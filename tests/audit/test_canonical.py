"""Canonical entry bytes: a fixed layout, and the fast splice equals full serialisation."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.audit import AuditError
from fengyan.audit.canonical import (
    canonical_detail,
    canonical_entry,
    entries_bytes,
    entry_bytes,
    parse_time,
    row_leaf_hashes,
    time_text,
)
from fengyan.audit.catalogue import get_action, load_actions, parse_catalogue
from fengyan.audit.merkle import leaf_hash


def test_an_entry_serialises_to_sorted_compact_utf8_json() -> None:
    at = time_text(datetime(2026, 11, 21, 16, 54, 24, 123456, tzinfo=timezone(timedelta(hours=8))))
    assert at == "2026-11-21T08:54:24.123456Z"
    detail = canonical_detail({"to": "研判", "from": "核查中", "n": [1, 2.5, None, True]})
    assert detail == '{"from":"核查中","n":[1,2.5,null,true],"to":"研判"}'
    expected = (
        '{"action":"case.transition","actor":"li.na","detail":{"from":"核查中","n":[1,2.5,null,'
        'true],"to":"研判"},"seq":42,"target":"case/2026-0007","time":"2026-11-21T08:54:24.123456Z"}'
    ).encode()
    got = entry_bytes(42, at, "li.na", "case.transition", "case/2026-0007", detail)
    assert got == expected
    assert leaf_hash(got) == hashlib.sha256(b"\x00" + expected).digest()
    assert parse_time(at) == datetime(2026, 11, 21, 8, 54, 24, 123456, tzinfo=UTC)


text = st.text(min_size=1, max_size=30)  # any Unicode, quotes and control characters too
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    seq=st.integers(1, 10**12),
    moment=st.datetimes(timezones=st.just(UTC)),
    actor=text,
    action=text,
    target=text,
    detail=st.dictionaries(st.text(max_size=8), json_value, max_size=5),
)
def test_the_splice_is_byte_identical_to_serialising_the_whole_entry(
    seq: int, moment: datetime, actor: str, action: str, target: str, detail: dict[str, object]
) -> None:
    at = time_text(moment)
    stored = canonical_detail(detail)
    whole = canonical_entry(seq, at, actor, action, target, detail)
    assert entry_bytes(seq, at, actor, action, target, stored) == whole
    assert entries_bytes([(seq, at, actor, action, target, stored)]) == [whole]
    assert row_leaf_hashes([(seq, at, actor, action, target, stored)]) == [leaf_hash(whole)]
    assert len(at) == 27 and parse_time(at) == moment.replace(microsecond=moment.microsecond)


@pytest.mark.parametrize(
    ("detail", "field"),
    [
        ({"x": math.nan}, "detail.x"),
        ({"x": {"y": math.inf}}, "detail.x.y"),
        ({"x": [1, {2: "a"}]}, "detail.x[1]"),
        ({"x": {1, 2}}, "detail.x"),
        ({"x": datetime(2026, 1, 1, tzinfo=UTC)}, "detail.x"),
    ],
)
def test_details_json_would_change_are_refused(detail: dict[str, object], field: str) -> None:
    with pytest.raises(AuditError) as caught:
        canonical_detail(detail)
    assert caught.value.params["field"] == field


def test_naive_times_are_refused() -> None:
    with pytest.raises(AuditError, match="time zone"):
        time_text(datetime(2026, 1, 1))


def test_the_catalogue_labels_every_action_and_refuses_unknown_ones() -> None:
    actions = load_actions()
    assert {"auth.login", "personal.view", "case.transition", "user.role_grant"} <= set(actions)
    assert get_action("personal.export").personal_data is True
    assert get_action("auth.login").personal_data is False
    assert get_action("case.open").label("zh") == "立案"
    with pytest.raises(AuditError) as caught:
        get_action("case.transtion")
    assert "case.transtion" in caught.value.message("en")
    assert "case.transtion" in caught.value.message("zh")


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("Case.Open: {zh: 立案, en: opened, personal_data: false}", "name"),
        ("case.open: {zh: 立案, en: opened}", "exactly"),
        ("case.open: {zh: '', en: opened, personal_data: false}", "empty"),
        ("case.open: {zh: 立案, en: opened, personal_data: 'yes'}", "bool"),
    ],
)
def test_bad_catalogues_name_the_file_and_the_action(yaml_text: str, problem: str) -> None:
    with pytest.raises(AuditError) as caught:
        parse_catalogue(yaml_text, "my-actions.yaml")
    assert caught.value.params["file"] == "my-actions.yaml"
    assert problem in caught.value.params["problem"]
