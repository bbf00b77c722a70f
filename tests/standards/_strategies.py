"""Hypothesis strategies shared by the fengyan.standards tests."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from fengyan.standards import bankcard, idcard, orgcode, regno, uscc

# Dates are generated against a fixed "today" so a run is reproducible on any day.
TODAY = date(2025, 6, 30)

FULLWIDTH = {chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)}

nasty_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet="0123456789Xx*×-— 　()+", max_size=30),
    st.sampled_from(["", " ", "\x00", "😀" * 50, "９" * 18, "nan", "None", "x" * 100_000]),
)
untrusted = st.one_of(st.none(), nasty_text)


def to_fullwidth(text: str) -> str:
    """The full-width form of an ASCII string."""
    return "".join(FULLWIDTH.get(char, char) for char in text)


@st.composite
def uscc_codes(draw: st.DrawFn) -> str:
    """A valid credit code with a random body from the USCC alphabet."""
    body = draw(st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17))
    return body + uscc.compute_check_char(body)


@st.composite
def org_codes(draw: st.DrawFn) -> str:
    """A valid GB 11714 organisation code."""
    body = draw(st.text(alphabet=orgcode.BODY_ALPHABET, min_size=8, max_size=8))
    return body + orgcode.compute_check_char(body)


@st.composite
def reg_numbers(draw: st.DrawFn) -> str:
    """A valid 15-digit registration number."""
    body = draw(st.text(alphabet="0123456789", min_size=14, max_size=14))
    return body + regno.compute_check_digit(body)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """A valid 18-digit identity number born between 1880 and :data:`TODAY`."""
    province = draw(st.sampled_from(sorted(idcard.PROVINCES)))
    rest = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1880, 1, 1), max_value=TODAY))
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    body = f"{province}{rest}{born:%Y%m%d}{sequence}"
    return body + idcard.compute_check_char(body)


@st.composite
def legacy_id_numbers(draw: st.DrawFn) -> str:
    """A valid 15-digit legacy identity number (born 1900–1999)."""
    province = draw(st.sampled_from(sorted(idcard.PROVINCES)))
    rest = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)))
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    return f"{province}{rest}{born:%y%m%d}{sequence}"


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid card number of 16–19 digits."""
    length = draw(st.integers(bankcard.MIN_LENGTH, bankcard.MAX_LENGTH))
    payload = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return payload + bankcard.luhn_check_digit(payload)


def substitute(code: str, position: int, replacement: str) -> str:
    """``code`` with the character at ``position`` replaced."""
    return code[:position] + replacement + code[position + 1 :]
