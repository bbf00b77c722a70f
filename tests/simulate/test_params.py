"""Parameters come from the shipped YAML; overrides and a user's copy are validated."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from fengyan.simulate.params import default_params_path, load_params


def test_defaults_and_overrides() -> None:
    p = load_params()
    assert p.enterprises.count == 20000 and p.calendar.months == 36 and p.city.code == "4403"
    q = load_params(**{"enterprises.count": 123, "calendar.months": None})
    assert q.enterprises.count == 123 and q.calendar.months == 36
    assert 0.05 <= sum(i.weight for i in p.industries if i.finance_like) / 100 <= 0.10


def test_a_typo_in_a_users_copy_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(default_params_path().read_text(encoding="utf-8"))
    raw["schemes"]["firm_shares"] = raw["schemes"].pop("firm_share")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="firm_share"):
        load_params(path)


def test_unknown_yield_format_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(default_params_path().read_text(encoding="utf-8"))
    raw["schemes"]["typologies"]["p2p"]["formats"] = ["weekly"]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="weekly"):
        load_params(path)
