"""Names of firms and people, built from the shipped name data (``data/``, see PROVENANCE.md).

A firm name is region + brand word (字号) + industry word + legal-form ending, in one of
three styles: 深圳市鹏润科技有限公司, 鹏润（深圳）科技有限公司, 深圳鹏润科技有限公司.
Individual businesses (个体工商户) put the district in front: 深圳市南山区鹏润便利店.
Names are unique in the city, as the registry requires: duplicates get a fresh brand word,
composed from brand characters when the word list runs short.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa

from fengyan.simulate.core import STR, Floats, Ints, Strs, join, strs, weighted

_BLOCK = 250_000  # rows of string work at a time (bounds temporary memory)


@dataclass(frozen=True)
class NameData:
    """The shipped word and character lists with their weights."""

    brand_words: Strs
    brand_weights: Floats
    brand_chars: Strs
    char_weights: Floats
    surnames: Strs
    surname_weights: Floats
    given: dict[str, tuple[Strs, Floats]]  # sex → characters, weights
    traditional: dict[str, str]
    look_alike: dict[str, str]


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("fengyan.simulate").joinpath("data", name)
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@cache
def name_data() -> NameData:
    """Load the shipped name files once per process."""
    words = _rows("brand_words.csv")
    chars = _rows("brand_chars.csv")
    surnames = _rows("surnames.csv")
    given_rows = _rows("given_chars.csv")
    given: dict[str, tuple[Strs, Floats]] = {}
    for sex in ("M", "F"):
        rows = [r for r in given_rows if r["sex"] in (sex, "U")]
        given[sex] = (strs([r["char"] for r in rows]), np.array([float(r["weight"]) for r in rows]))
    variants = _rows("char_variants.csv")
    return NameData(
        brand_words=strs([r["word"] for r in words]),
        # Square root flattens the heavy head (华, 金, 国 …) so that brand words repeat
        # across firms about as often as real ones do without a few dominating.
        brand_weights=np.sqrt(np.array([float(r["weight"]) for r in words])),
        brand_chars=strs([r["char"] for r in chars]),
        char_weights=np.sqrt(np.array([float(r["weight"]) for r in chars])),
        surnames=strs([r["surname"] for r in surnames]),
        surname_weights=np.array([float(r["weight"]) for r in surnames]),
        given=given,
        traditional={r["simplified"]: r["variant"] for r in variants if r["kind"] == "traditional"},
        look_alike={r["simplified"]: r["variant"] for r in variants if r["kind"] == "look_alike"},
    )


def brand_words(rng: np.random.Generator, n: int) -> Strs:
    """``n`` brand words drawn by weight from the shipped list."""
    data = name_data()
    return np.asarray(data.brand_words[weighted(rng, data.brand_weights, n)], dtype=STR)


def composed_brands(rng: np.random.Generator, n: int, chars: Strs | None = None) -> Strs:
    """``n`` two-character brand words composed from brand characters (or ``chars``)."""
    data = name_data()
    if chars is None:
        pool, w = data.brand_chars, data.char_weights
    else:
        pool, w = chars, np.ones(len(chars))
    a = weighted(rng, w, n)
    b = weighted(rng, w, n)
    b = np.where(a == b, (b + 1) % len(pool), b)
    return join(pool[a], pool[b])


def firm_names(
    rng: np.random.Generator,
    brand: Strs,
    word: Strs,
    suffix: Strs,
    style: Ints,
    city_name: str,
    city_short: str,
    district: Strs,
    individual: np.ndarray,
) -> Strs:
    """Full names from parts. ``style``: 0 深圳市XX, 1 XX（深圳）, 2 深圳XX."""
    out = np.empty(len(brand), dtype=STR)
    for a in range(0, len(brand), _BLOCK):  # in blocks: four candidate names per firm
        b = slice(a, a + _BLOCK)
        first = join(city_name, brand[b], word[b], suffix[b])
        bracket = join(brand[b], "（", city_short, "）", word[b], suffix[b])
        short = join(city_short, brand[b], word[b], suffix[b])
        kind = style[b]
        named = np.where(kind == 0, first, np.where(kind == 1, bracket, short)).astype(STR)
        shop = join(city_name, district[b], brand[b], word[b], suffix[b])
        out[b] = np.where(individual[b], shop, named)
    return out


def unique_brands(
    rng: np.random.Generator, brand: Strs, key: Strs, fixed: np.ndarray | None = None
) -> Strs:
    """Replace brands until ``brand + key`` is unique (``fixed`` rows keep theirs)."""
    brand = brand.copy()
    # Brands and keys as numbers (brands never contain "|", so brand|key pairs are
    # distinct exactly when these numbers are): sorting numbers is far cheaper.
    key_id, keys = _codes(key)
    n_keys = len(keys)
    brand_id, words = _codes(brand)
    known = {w: k for k, w in enumerate(words)}
    for attempt in range(60):
        pair = brand_id * n_keys + key_id
        _, first = np.unique(pair, return_index=True)
        dup = np.ones(len(pair), dtype=bool)
        dup[first] = False
        if fixed is not None:
            # A fixed row that collides makes the other row move, not itself.
            dup &= ~fixed
        if not dup.any():
            return brand
        k = int(dup.sum())
        fresh = brand_words(rng, k) if attempt < 3 else composed_brands(rng, k)
        if attempt >= 10:  # very large cities: three-character composed words
            fresh = join(fresh, composed_brands(rng, k).astype(STR)[:k])
            fresh = np.asarray(np.strings.slice(fresh, 0, 3), dtype=STR)
        brand[dup] = fresh
        brand_id[dup] = [known.setdefault(w, len(known)) for w in fresh.tolist()]
    raise RuntimeError("could not make firm names unique; add brand words or characters")


def _codes(values: Strs) -> tuple[Ints, list[str]]:
    """A number per distinct value, and the values (hashing, not sorting: millions of
    strings)."""
    encoded = pa.array(values, type=pa.large_string()).dictionary_encode()
    return encoded.indices.to_numpy().astype(np.int64), encoded.dictionary.to_pylist()


def person_names(rng: np.random.Generator, male: np.ndarray) -> Strs:
    """Names from surname and given-character frequencies; a given name of one or two."""
    data = name_data()
    n = len(male)
    surname = data.surnames[weighted(rng, data.surname_weights, n)]
    out = np.empty(n, dtype=STR)
    for sex, mask in (("M", male), ("F", ~male)):
        k = int(mask.sum())
        chars, w = data.given[sex]
        first = chars[weighted(rng, w, k)]
        second = chars[weighted(rng, w, k)]
        two = rng.random(k) < 0.82
        out[mask] = np.where(two, join(surname[mask], first, second), join(surname[mask], first))
    return out


def to_traditional(text: str) -> str:
    """``text`` with every character the shipped table knows in its traditional form."""
    table = name_data().traditional
    return "".join(table.get(c, c) for c in text)


def with_typo(text: str, rng: np.random.Generator) -> str:
    """``text`` with one character replaced by a homophone or look-alike, if it has one."""
    table = name_data().look_alike
    spots = [i for i, c in enumerate(text) if c in table]
    if not spots:
        return text
    i = spots[int(rng.integers(0, len(spots)))]
    return text[:i] + table[text[i]] + text[i + 1 :]


def short_name(brand: str, word: str) -> str:
    """How people write a firm without region and form: 鹏润科技."""
    return brand + word
