"""The batch path (fengyan.resolve.batch) gives what the single-name functions give."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.resolve import batch
from fengyan.resolve.contacts import address_key, address_room_key
from fengyan.resolve.names import fold, sound_key, split_name
from tests.realnames import p2p_names_and_brands


def _same_as_single(names: list[str]) -> None:
    table = batch.split_names(names)
    got = list(
        zip(
            *(table[c].to_pylist() for c in ("key", "region", "core", "form", "branch")),
            strict=True,
        )
    )
    want = [(p.key, p.region, p.core, p.form, p.branch) for p in map(split_name, names)]
    assert got == want
    assert batch.fold_many(names) == [fold(n) for n in names]
    assert batch.sound_keys(names) == [sound_key(n) for n in names]


def test_fold_many_in_chunks_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["鹏润（深圳）科技有限公司", "  Ａ Ｂ 公司", "", "臺灣積體電路", "x\u3000y"] * 3
    monkeypatch.setattr(batch, "FOLD_CHUNK", 4)
    assert batch.fold_many(names) == [fold(n) for n in names]


@pytest.fixture(scope="module")
def real_names() -> list[str]:
    """Company names no one here wrote: P2P operators' registered names and brand words."""
    full, shorts = p2p_names_and_brands()
    brands = shorts[::20]  # every 20th: ~13,000
    written = [f"深圳市{b}科技有限公司" for b in brands[:3000]]
    written += [f"{b}（深圳）投资合伙企业（有限合伙）" for b in brands[3000:4000]]
    written += [f"广东省深圳市南山区{b}便利店" for b in brands[4000:5000]]
    written += [f"深圳市{b}實業有限責任公司福田分公司" for b in brands[5000:6000]]
    return full + brands + written


def test_batch_equals_single_on_real_names(real_names: list[str]) -> None:
    assert len(real_names) > 10_000
    _same_as_single(real_names)


@pytest.mark.parametrize("threads", [2, 3])
def test_names_taken_apart_in_threads_are_the_same(
    real_names: list[str], threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "THREAD_NAMES", 1)
    one = batch.split_names(real_names)
    # A list, an Arrow array and a chunked one are sliced the same way.
    for names in (
        real_names,
        pa.array(real_names),
        pa.chunked_array([real_names[:7], real_names[7:]]),
    ):
        assert batch.split_names(names, threads).equals(one)


NAME_CHARS = list(
    "深圳市广东省南山区东方鹏润鵬潤科技有限责任責公司股份合伙企业（）()【】 　·ＡａB12分行集团控"
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(NAME_CHARS), max_size=24), max_size=30))
def test_batch_equals_single_on_name_like_strings(names: list[str]) -> None:
    _same_as_single(names)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=20))
def test_batch_equals_single_on_any_text(names: list[str]) -> None:
    _same_as_single(names)


ADDRESS_CHARS = list(
    "广东省深圳市南山区粤海街道科技园社区深南大道1234-5号伟丰达商务大厦ABC座栋期单元室房铺工位 ０１"
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(alphabet=st.sampled_from(ADDRESS_CHARS), max_size=30)),
            st.sampled_from([None, "", "440305", "440305007003", "4403", "x"]),
        ),
        max_size=20,
    )
)
def test_address_keys_equal_single(rows: list[tuple[str | None, str | None]]) -> None:
    texts = pa.array([r[0] for r in rows], pa.string())
    regions = pa.array([r[1] for r in rows], pa.string())
    key, room = batch.address_keys(texts, regions)
    assert key.to_pylist() == [address_key(t, r) for t, r in rows]
    assert room.to_pylist() == [address_room_key(t, r) for t, r in rows]


def test_translate_matches_str_translate() -> None:
    text = "ＡＢＣ　１２３【鹏润】“科技”《有限》·公司\U0001f600"
    assert batch.translate(text, "fold") == text.translate(batch.ref._lexicon().fold_table)


@given(st.text(max_size=60))
def test_translate_is_str_translate_for_any_text(text: str) -> None:
    # Both tables, any code point (astral ones included), deleted characters included.
    assert batch.translate(text, "fold") == text.translate(batch.ref._lexicon().fold_table)
    assert batch.translate(text, "width") == text.translate(dict(batch._HALFWIDTH))
    folded = text.translate(batch.ref._lexicon().fold_table)
    assert batch.translate(text, "fold_space") == "".join(folded.split())


def test_branch_split_takes_the_last_form_not_at_the_end() -> None:
    # 公司 last occurs at the very end, so the reference ignores it (and its earlier
    # occurrence): no parent form, no branch; with 有限公司 before the branch there is one.
    names = [
        "鹏润公司南山分公司",
        "鹏润有限公司南山分公司",
        "鹏润有限公司宝安有限公司南山分公司",
        "鹏润(有限合伙)福田分店",
        "南山分公司",
    ]
    want = [split_name(n) for n in names]
    assert [(w.core, w.branch) for w in want][:3] == [
        ("鹏润公司南山分", ""),
        ("鹏润", "南山分公司"),
        ("鹏润有限公司宝安", "南山分公司"),
    ]
    _same_as_single(names)


def test_address_keys_of_repeated_addresses_follow_their_rows() -> None:
    # Keys are computed once per distinct text: rows sharing a text but not a region
    # must still get their own region part.
    rows = [
        ("深南大道1234号伟丰达大厦A座1501室", "440305007003"),
        (None, "440305"),
        ("深南大道1234号伟丰达大厦A座1501室", "440304"),
        ("", None),
        ("深南大道1234号伟丰达大厦A座1501室", "440305007003"),
    ]
    key, room = batch.address_keys(
        pa.array([r[0] for r in rows], pa.string()), pa.array([r[1] for r in rows], pa.string())
    )
    assert key.to_pylist() == [address_key(t, r) for t, r in rows]
    assert room.to_pylist() == [address_room_key(t, r) for t, r in rows]
    assert key[0].as_py() != key[2].as_py()
