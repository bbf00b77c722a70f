"""Real company names from ../shared/data, for tests that want names no one here wrote."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import SHARED_DATA


def p2p_names_and_brands() -> tuple[list[str], list[str]]:
    """P2P operators' registered names (wdzj 2017) and the brand short forms, one a line.

    Skips the calling test when ../shared/data (p2p-platforms, company-names) is absent.
    """
    details = SHARED_DATA / "p2p-platforms" / "wdzj_platform_details_2017.csv"
    shorts = SHARED_DATA / "company-names" / "company_short_forms.txt"
    if not details.exists() or not shorts.exists():
        pytest.skip("../shared/data (p2p-platforms, company-names) is not available")
    csv.field_size_limit(1 << 30)  # the details file has very long description fields
    with open(details, encoding="utf-8") as fh:
        full = [r["companyName"] for r in csv.DictReader(fh) if r.get("companyName")]
    return full, shorts.read_text("utf-8").split("\n")
