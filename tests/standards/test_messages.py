"""Every reason code has a message in both languages, and every validator's params fit it."""

from __future__ import annotations

from datetime import date

import pytest

from fengyan.i18n import LANGUAGES, has_message
from fengyan.standards import bankcard, idcard, orgcode, phone, regno, result, uscc
from fengyan.standards.result import CheckResult

FAILURES = [
    uscc.check("91110000600037341M"),
    uscc.check("91110000600O37341L"),
    uscc.check("9111"),
    uscc.check("210604197201190322"),
    uscc.check(None),
    orgcode.check("60003734-2"),
    regno.check("110108010146887"),
    idcard.check("99010519491231002X"),
    idcard.check("110105194902300021"),
    idcard.check("3301**********1234"),
    idcard.check("110105194912310021", today=date(2025, 1, 1)),
    bankcard.check("6212345678901237"),
    phone.check("95588"),
]


def test_every_reason_has_a_message() -> None:
    assert all(has_message(f"std_{reason}") for reason in result.REASONS | {"ok"})


def test_failures_cover_every_reason() -> None:
    assert {outcome.reason for outcome in FAILURES} == result.REASONS


@pytest.mark.parametrize("outcome", FAILURES, ids=lambda o: str(o.reason))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_messages_render(outcome: CheckResult, lang: str) -> None:
    text = outcome.message(lang)
    assert text and "{" not in text


def test_chinese_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FENGYAN_LANG", raising=False)
    assert uscc.explain("91110000600037341M") == "校验码错误：应为 L，实为 M"
