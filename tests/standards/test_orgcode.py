"""组织机构代码 (GB 11714-1997): known codes, printed form and what the check can miss."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fengyan.standards import orgcode, result

from ._data import shared_file
from ._strategies import org_codes, substitute, untrusted

VALUE = {char: index for index, char in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def test_organisation_codes_inside_real_credit_codes(shared_data: Path) -> None:
    path = shared_file(shared_data, "sanctions-ofac-sdn/sdn_uscc_entities_2023-12-28.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        inner = [row["uscc"][8:17] for row in csv.DictReader(handle)]
    assert inner
    assert [code for code in inner if not orgcode.is_valid(code)] == []


def test_printed_form_and_known_vectors() -> None:
    assert orgcode.normalize("60003734-1") == "600037341"
    assert orgcode.printed("600037341") == "60003734-1"
    assert orgcode.normalize("ＭＡ００００００-１") == orgcode.normalize("MA000000-1")
    # check 10 is written X, check 11 is written 0
    assert orgcode.compute_check_char("00000000") == "0"
    assert orgcode.compute_check_char("00000001") == "9"
    x_body = next(
        "".join(p)
        for p in itertools.product("0123", repeat=8)
        if orgcode.compute_check_char("".join(p)) == "X"
    )
    assert orgcode.is_valid(x_body + "X")
    assert orgcode.check("60003734-2").reason == result.BAD_CHECK_CHAR
    assert orgcode.check("6000373-1").reason == result.BAD_LENGTH
    assert orgcode.check("60003734-A").reason == result.BAD_CHAR


def test_undetected_substitutions_are_exactly_multiples_of_11() -> None:
    # Measured exhaustively on one body: every weight (3 7 9 10 5 8 4 2) is prime to 11, so a
    # body substitution a→b escapes the check iff value(a) − value(b) ≡ 0 (mod 11). Of the
    # 36·35 = 1,260 ordered symbol pairs, 84 (6.7 %) differ by 11, 22 or 33: 0↔B, 1↔C, A↔L …
    code = "600037341"
    missed_pairs = set()
    for position in range(8):
        for replacement in VALUE:
            if replacement == code[position]:
                continue
            caught = not orgcode.is_valid(substitute(code, position, replacement))
            assert caught == ((VALUE[code[position]] - VALUE[replacement]) % 11 != 0)
    for a, b in itertools.permutations(VALUE, 2):
        if (VALUE[a] - VALUE[b]) % 11 == 0:
            missed_pairs.add((a, b))
    assert len(missed_pairs) == 84


@given(org_codes(), st.integers(0, 8), st.sampled_from(sorted(VALUE)))
def test_substitution_rule(code: str, position: int, replacement: str) -> None:
    if replacement == code[position]:
        return
    changed = substitute(code, position, replacement)
    if position == 8:
        # one check character per residue: a changed check character is always caught
        assert not orgcode.is_valid(changed)
    else:
        multiple_of_11 = (VALUE[code[position]] - VALUE[replacement]) % 11 == 0
        assert orgcode.is_valid(changed) == multiple_of_11


@given(org_codes())
def test_round_trip(code: str) -> None:
    assert orgcode.normalize(code) == code
    assert orgcode.normalize(orgcode.printed(code)) == code
    assert orgcode.normalize(code.lower()) == code


@given(untrusted)
def test_never_raises(value: str | None) -> None:
    outcome = orgcode.check(value)
    assert outcome.reason is None or outcome.reason in result.REASONS
    assert isinstance(orgcode.explain(value), str)
    normalized = orgcode.normalize(value)
    assert normalized is None or orgcode.normalize(normalized) == normalized


@given(
    st.lists(
        st.one_of(
            org_codes(),
            org_codes().map(lambda c: c[:8] + ("X" if c[8] != "X" else "0")),
            st.text(alphabet=orgcode.BODY_ALPHABET, max_size=11),
            st.none(),
        ),
        max_size=40,
    )
)
def test_vectorised_check_equals_the_scalar_one(values: list[str | None]) -> None:
    # valid_mask takes canonical values only (no printed hyphen), as ingestion gives it.
    assert orgcode.valid_mask(values).tolist() == [orgcode.is_valid(v) for v in values]
