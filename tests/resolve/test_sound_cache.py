"""fy_sound answers from its cache exactly as names.sound_key does, also when it is replaced."""

from __future__ import annotations

import pyarrow as pa
import pytest

from fengyan.resolve import names, scoring

NAMES = ["信诚科技", "信成科技", "鹏润", None, "", "腾聚e贷", "朋润", "信诚科技"]


def _expected(values: list[str | None]) -> list[str | None]:
    return [None if v is None else names.sound_key(v) for v in values]


def test_repeated_calls_give_the_reference_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "_SOUND_CACHE", [{}])
    for _ in range(3):  # the second and third calls are answered from the cache
        got = scoring._sound(pa.array(NAMES, pa.string())).to_pylist()
        assert got == _expected(NAMES)
    assert got[0] == got[1]  # 信诚 and 信成 sound the same


def test_a_full_cache_is_replaced_not_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "_SOUND_CACHE", [{}])
    monkeypatch.setattr(scoring, "SOUND_CACHE_SIZE", 4)
    first = scoring._SOUND_CACHE[0]
    assert scoring._sound(pa.array(NAMES[:3], pa.string())).to_pylist() == _expected(NAMES[:3])
    held = dict(first)
    got = scoring._sound(pa.array(NAMES, pa.string())).to_pylist()
    assert got == _expected(NAMES)
    assert scoring._SOUND_CACHE[0] is not first
    assert first == held  # a caller still holding the old one sees it unchanged
