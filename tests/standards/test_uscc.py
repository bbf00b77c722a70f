"""统一社会信用代码 (GB 32100-2015): real codes, known vectors and properties."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengyan.standards import result, uscc
from fengyan.standards.text import normalize_code

from ._data import shared_file
from ._strategies import nasty_text, substitute, to_fullwidth, untrusted, uscc_codes

# Written out independently of the module: value of each symbol and the weights 3^(i-1) mod 31
# as printed in the standard, so a wrong table in the module cannot agree with itself.
INDEPENDENT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
INDEPENDENT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def independent_check_char(body: str) -> str:
    total = sum(
        INDEPENDENT_ALPHABET.index(c) * w for c, w in zip(body, INDEPENDENT_WEIGHTS, strict=True)
    )
    return INDEPENDENT_ALPHABET[(31 - total % 31) % 31]


def ofac_codes(shared_data: Path) -> list[str]:
    path = shared_file(shared_data, "sanctions-ofac-sdn/sdn_uscc_entities_2023-12-28.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["uscc"] for row in csv.DictReader(handle)]


def test_every_ofac_uscc_is_valid(shared_data: Path) -> None:
    codes = ofac_codes(shared_data)
    assert len(codes) == 59
    assert [code for code in codes if not uscc.is_valid(code)] == []
    # Measured: every real code also carries a valid GB 11714 organisation code.
    assert [code for code in codes if uscc.check(code).warning] == []


def test_codes_labelled_uscc_in_full_sdn_list_are_valid(shared_data: Path) -> None:
    text = shared_file(shared_data, "sanctions-ofac-sdn/sdn_2023-12-28.csv").read_text("utf-8")
    codes = re.findall(r"Unified Social Credit Code \(USCC\) ([0-9A-Z]+)", text)
    assert len(codes) >= 59
    assert [code for code in codes if uscc.check(code).reason is not None] == []


def test_code_in_p2p_platform_record_is_valid(shared_data: Path) -> None:
    # The wdzj export has one credit code, misfiled in the 法定代表人 column.
    path = shared_file(shared_data, "p2p-platforms/wdzj_problem_platform_details_2017.csv")
    found = re.findall(r"(?<![0-9A-Z])9[0-9A-Z]{17}(?![0-9A-Z])", path.read_text("utf-8"))
    assert found
    assert all(uscc.check(code).reason is None for code in found)


def test_org_code_warning_flags_chance_matches_in_real_data() -> None:
    # From the OFAC list: a Chinese ID number and a Mexican electoral number that happen to
    # pass the mod-31 check (1 in 31 do); the embedded organisation code gives them away.
    for impostor in ["210604197201190322", "HRBRRL77020430H900"]:
        outcome = uscc.check(impostor)
        assert outcome.valid and outcome.warning
        assert outcome.reason == result.BAD_ORG_CODE


def test_known_vector() -> None:
    outcome = uscc.check("91110000600037341L")
    assert outcome == result.ok("91110000600037341L")
    assert uscc.compute_check_char("91110000600037341") == "L"


@pytest.mark.parametrize("body", ["Y1330100MA2ABCD12", "A1110000MA0000001", "N2330108MA27YU1K6"])
def test_codes_starting_with_a_letter_are_valid(body: str) -> None:
    check_char = uscc.compute_check_char(body)
    assert check_char == independent_check_char(body)
    assert uscc.is_valid(body + check_char)
    others = set(uscc.ALPHABET) - {check_char}
    assert not any(uscc.is_valid(body + other) for other in others)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, result.EMPTY),
        ("  ", result.EMPTY),
        ("91110000600037341", result.BAD_LENGTH),
        ("91110000600037341LL", result.BAD_LENGTH),
        ("91110000600O37341L", result.BAD_CHAR),
        ("9111000060003734IL", result.BAD_CHAR),
        ("91110000600037341M", result.BAD_CHECK_CHAR),
    ],
)
def test_rejections(raw: str | None, reason: str) -> None:
    outcome = uscc.check(raw)
    assert not outcome.valid
    assert outcome.reason == reason
    assert uscc.normalize(raw) is None


def test_explain_names_expected_and_actual() -> None:
    assert uscc.explain("91110000600037341M", "zh") == "校验码错误：应为 L，实为 M"
    assert "expected L" in uscc.explain("91110000600037341M", "en")
    assert uscc.explain("91110000600037341L", "zh") == "有效"


def test_parse() -> None:
    parts = uscc.parse("91110000600037341L")
    assert parts is not None
    assert (parts.department, parts.category, parts.region_code) == ("9", "1", "110000")
    assert (parts.department_name, parts.category_name) == ("市场监管（工商）", "企业")
    assert (parts.org_code, parts.org_code_valid) == ("600037341", True)
    assert uscc.parse("91110000600037341M") is None


def test_suggest_fixes_for_look_alike_letters() -> None:
    assert uscc.suggest_fixes("91110000600O37341L") == ["91110000600037341L"]
    assert uscc.suggest_fixes("9111OOOO6OOO37341L") == ["91110000600037341L"]
    assert uscc.suggest_fixes("91110000600037341L") == []  # nothing to fix
    assert uscc.suggest_fixes("91110000600037341M") == []  # no illegal letter to blame


@given(uscc_codes())
def test_generated_codes_round_trip(code: str) -> None:
    assert uscc.is_valid(code)
    assert uscc.normalize(code) == code
    assert uscc.compute_check_char(code[:17]) == independent_check_char(code[:17])


@given(uscc_codes(), st.integers(0, 17), st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
def test_any_single_substitution_is_caught(code: str, position: int, replacement: str) -> None:
    # 31 is prime and no weight is 0 mod 31, so every substitution moves the checksum.
    if replacement == code[position]:
        return
    assert not uscc.is_valid(substitute(code, position, replacement))


@given(uscc_codes(), st.integers(0, 15))
def test_adjacent_body_swaps_are_caught(code: str, position: int) -> None:
    # Swapping positions i, i+1 changes the sum by (a−b)(3^i − 3^(i+1)) = −2·3^i·(a−b) ≢ 0.
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert swapped == code or not uscc.is_valid(swapped)


@given(uscc_codes())
def test_full_width_lower_case_and_spaced_forms_normalise(code: str) -> None:
    for variant in [
        code.lower(),
        to_fullwidth(code),
        to_fullwidth(code.lower()),
        f" {code[:6]} {code[6:12]}-{code[12:]} ",
        "\u3000".join(code),
    ]:
        assert uscc.normalize(variant) == code


@given(uscc_codes(), st.data())
def test_suggest_fixes_recovers_look_alike_typos(code: str, data: st.DataObject) -> None:
    typo_of = {"0": "O", "1": "I", "5": "S", "2": "Z"}
    positions = [i for i, char in enumerate(code) if char in typo_of]
    if not positions:
        return
    chosen = data.draw(st.lists(st.sampled_from(positions), min_size=1, max_size=3, unique=True))
    typo = code
    for position in chosen:
        typo = substitute(typo, position, typo_of[code[position]])
    fixes = uscc.suggest_fixes(typo)
    assert code in fixes
    assert all(uscc.is_valid(fix) for fix in fixes)


@given(untrusted)
def test_never_raises_and_normalisation_is_idempotent(value: str | None) -> None:
    outcome = uscc.check(value)
    assert outcome.reason is None or outcome.reason in result.REASONS
    assert isinstance(uscc.explain(value), str)
    assert isinstance(uscc.suggest_fixes(value), list)
    normalized = uscc.normalize(value)
    if normalized is not None:
        assert uscc.normalize(normalized) == normalized
        assert uscc.parse(value) is not None


@given(st.lists(st.one_of(uscc_codes(), nasty_text, st.none()), max_size=40), st.data())
def test_valid_mask_equals_scalar(values: list[str | None], data: st.DataObject) -> None:
    # Mix in near misses (one substitution) so both outcomes are well represented.
    mutated = [
        substitute(v, data.draw(st.integers(0, 17)), data.draw(st.sampled_from(uscc.ALPHABET)))
        for v in values
        if v is not None and len(v) == 18
    ]
    canonical = [v for v in values + mutated if v is None or normalize_code(v) == v]
    expected = [uscc.is_valid(v) for v in canonical]
    assert uscc.valid_mask(canonical).tolist() == expected
    assert uscc.valid_mask(np.array(canonical, dtype=object)).tolist() == expected
    strings = [v for v in canonical if v is not None]
    as_unicode = np.array(strings, dtype=str) if strings else np.array([], dtype="U1")
    assert uscc.valid_mask(as_unicode).tolist() == [uscc.is_valid(v) for v in strings]


def test_valid_mask_accepts_bytes_and_empty_input() -> None:
    raw = np.array([b"91110000600037341L", b"91110000600037341M", b""], dtype="S18")
    assert uscc.valid_mask(raw).tolist() == [True, False, False]
    assert uscc.valid_mask([]).tolist() == []


def test_valid_mask_over_several_blocks() -> None:
    values = ["91110000600037341L", "91110000600037341M", None] * 100_000  # > one block
    mask = uscc.valid_mask(values)
    assert mask.shape == (300_000,)
    assert mask.sum() == 100_000
    assert mask[::3].all()
