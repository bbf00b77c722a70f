"""The column-wise name dictionary equals the per-name reference on real company names, and
sharded automata match exactly like one automaton."""

from __future__ import annotations

import ahocorasick_rs as ac
import numpy as np
import pyarrow as pa
import pytest

from fengyan.resolve.names import split_name
from fengyan.text.dictionary import (
    BRAND,
    NAME_KINDS,
    SHORT,
    build_dictionary,
    find_each,
    frequent_suffixes,
    han_count,
    max_suffix_length,
    normalize_many,
    region_words,
    short_surfaces,
)
from fengyan.text.linking import OPEN_DAY, FirmFacts, Linker, build_automata
from fengyan.text.service import load_settings
from tests.realnames import p2p_names_and_brands

SETTINGS = load_settings().linking


def reference(
    firm: list[int], names: list[str], kinds: list[str]
) -> list[tuple[str, int, int, int, int]]:
    """The per-name build (the one the vectorised build replaced), as sorted tuples
    ``(surface, firm, method, name, offset)``."""
    norm = normalize_many(names)
    cores = [split_name(n).core for n in names]
    suffixes = frequent_suffixes(cores, SETTINGS)
    longest = max_suffix_length(suffixes)
    stop = SETTINGS.stop_words | region_words() | suffixes
    out = []
    for n, (f, full, core, kind) in enumerate(zip(firm, norm, cores, kinds, strict=True)):
        shorts = short_surfaces(core, suffixes, SETTINGS, longest)
        contained = False
        for i, surface in enumerate(shorts):
            if han_count(surface) < SETTINGS.min_han or surface in stop:
                continue
            off = full.find(surface)
            contained |= off >= 0
            method = BRAND if i == len(shorts) - 1 and i > 0 else SHORT
            out.append((surface, f, method, n, off if 0 <= off < 32_000 else -1))
        if not contained and full and han_count(full) >= SETTINGS.min_han:
            out.append((full, f, NAME_KINDS[kind], n, 0))
    return out


def entries(d: object) -> list[tuple[str, int, int, int, int]]:
    patterns = d.patterns.to_pylist()  # type: ignore[attr-defined]
    start = d.start  # type: ignore[attr-defined]
    out = []
    for p, surface in enumerate(patterns):
        for e in range(int(start[p]), int(start[p + 1])):
            out.append(
                (
                    surface,
                    int(d.firm[e]),  # type: ignore[attr-defined]
                    int(d.method[e]),  # type: ignore[attr-defined]
                    int(d.name[e]),  # type: ignore[attr-defined]
                    int(d.offset[e]),  # type: ignore[attr-defined]
                )
            )
    return out


@pytest.fixture(scope="module")
def real_names() -> list[str]:
    """Registered names of P2P operators and real brand words written as Shenzhen firms."""
    full, shorts = p2p_names_and_brands()
    brands = shorts[::40]
    written = [f"深圳市{b}科技有限公司" for b in brands[:2000]]
    written += [f"深圳市前海{b}财富管理有限公司" for b in brands[2000:3000]]
    written += [f"{b}（深圳）金融信息服务有限公司" for b in brands[3000:4000]]
    written += [f"广东省深圳市南山区{b}网络科技有限公司" for b in brands[4000:5000]]
    written += [f"深圳市{b}實業有限責任公司福田分公司" for b in brands[5000:6000]]
    return full + brands[6000:] + written


def test_cores_are_split_names_cores(real_names: list[str]) -> None:
    d = build_dictionary(range(len(real_names)), real_names, ["current"] * len(real_names),
                         SETTINGS)  # fmt: skip
    assert d.cores.to_pylist() == [split_name(n).core for n in real_names]


def test_vectorised_build_equals_reference(real_names: list[str]) -> None:
    n = len(real_names)
    assert n > 7_000
    firm = [i // 2 for i in range(n)]  # two names per firm: pairs share entries
    kinds = ["current" if i % 3 else "former" for i in range(n)]
    kinds[5] = "branch"
    want = reference(firm, real_names, kinds)
    d = build_dictionary(firm, real_names, kinds, SETTINGS)
    got = entries(d)
    assert sorted(got) == sorted(want)
    # Within a pattern, entries keep name order (ties in disambiguation go to the first).
    index = {p: i for i, p in enumerate(d.patterns.to_pylist())}
    assert got == sorted(got, key=lambda e: (index[e[0]], e[3]))
    assert any(m == BRAND for _, _, m, _, _ in got) and any(o > 0 for *_, o in got)


def test_worker_processes_give_the_same_dictionary(real_names: list[str]) -> None:
    names = real_names[:6000]
    from fengyan.text import dictionary

    old, dictionary.CHUNK = dictionary.CHUNK, 1000  # type: ignore[misc]
    try:
        two = build_dictionary(range(6000), names, ["current"] * 6000, SETTINGS, workers=2)
    finally:
        dictionary.CHUNK = old  # type: ignore[misc]
    one = build_dictionary(range(6000), names, ["current"] * 6000, SETTINGS)
    assert entries(two) == entries(one)
    assert two.names.equals(one.names) and two.cores.equals(one.cores)


def test_find_each_is_str_find() -> None:
    hay = ["深圳市鹏润科技有限公司", "鹏润鹏润", "", "abc", "润科", "鹏润(深圳)科技"]
    needle = ["鹏润", "鹏润", "x", "", "润科技", "鹏润科技"]
    got = find_each(pa.array(hay), pa.array(needle))
    assert got.tolist() == [h.find(x) for h, x in zip(hay, needle, strict=True)]


def test_sharded_automata_match_like_one(real_names: list[str]) -> None:
    d = build_dictionary(range(len(real_names)), real_names, ["current"] * len(real_names),
                         SETTINGS)  # fmt: skip
    n = int(d.firm.max()) + 1
    facts = FirmFacts([str(i) for i in range(n)], [""] * n, [""] * n,
                      np.zeros(n, np.int64), np.full(n, OPEN_DAY, np.int64),
                      np.zeros(n, bool))  # fmt: skip
    one = Linker(d, facts, SETTINGS)
    one._shards = build_automata(d.patterns, 1)
    many = Linker(d, facts, SETTINGS)
    many._shards = build_automata(d.patterns, 3, min_size=0)
    assert len(many._shards) == 3
    patterns = d.patterns.to_pylist()
    rng = np.random.default_rng(7)
    # Texts made of overlapping surfaces: where shards could disagree.
    for _ in range(300):
        picks = rng.integers(0, len(patterns), 12)
        text = "".join(patterns[p][int(rng.integers(0, 2)) :] for p in picks)
        want = one.matches(text)
        assert many.matches(text) == want
    plain = ac.AhoCorasick(patterns, matchkind=ac.MatchKind.LeftmostLongest)
    text = "".join(patterns[:50])
    assert one.matches(text) == plain.find_matches_as_indexes(text)
