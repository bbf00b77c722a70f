"""OpenCC is skipped for texts without a character it may change: the same folds."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengyan.resolve import batch, names, t2s

# Traditional phrases and characters, phrases OpenCC keeps (慰藉), compatibility ideographs.
PIECES = [
    "深沈",
    "憑藉",
    "慰藉",
    "藉",
    "沈",
    "深圳市",
    "鵬潤",
    "科技",
    "有限公司",
    "(",
    "（",
    " ",
    "臺灣",
    "台",
    "發",
    "髮",
    "乾隆",
    "干",
    "E貸",
    "\uf900",
    "\uf9dc",
    "后",
    "後",
    "a",
    "Ａ",
    "聯繫",
    "系",
    "·",
    "里",
    "裏",
    "著",
    "着",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=6).map("".join), max_size=20))
def test_fold_many_is_fold_of_each(texts: list[str]) -> None:
    assert batch.fold_many(texts) == [names.fold(t) for t in texts]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(
                min_codepoint=0x20, max_codepoint=0xFAFF, exclude_categories=("Cs",)
            )
        ),
        max_size=10,
    )
)
def test_fold_many_on_any_text(texts: list[str]) -> None:
    texts = [t for t in texts if not any(s in t for s in batch.SEPARATORS)]
    assert batch.fold_many(texts) == [names.fold(t) for t in texts]


def test_texts_without_listed_characters_are_unchanged_by_opencc() -> None:
    chars = t2s.shipped_characters()
    assert {"沈", "憑", "藉", "發", "臺"} <= chars
    assert not {"深", "圳", "公", "司", "a"} & chars
    # Every character outside the list is left alone by OpenCC, alone or in a phrase.
    kept = "".join(chr(c) for c in range(0x4E00, 0x9FA6) if chr(c) not in chars)
    assert names.to_simplified(kept) == kept


@pytest.mark.skipif(
    shutil.which(str(t2s._opencc_dir() / "bin" / "opencc_dict")) is None,
    reason="the OpenCC package has no opencc_dict tool",
)
def test_shipped_list_is_current() -> None:
    """``python -m fengyan.resolve.t2s`` writes the list again after an OpenCC upgrade."""
    assert t2s.shipped_characters() == t2s.changing_characters()
