"""The graph's DuckDB memory limit: a setting in DuckDB's syntax, checked before it is used."""

from __future__ import annotations

import pydantic
import pytest

from fengyan.graph.config import GraphSettings, load_settings


def test_shipped_limit() -> None:
    assert load_settings().memory_limit == "5GB"


@pytest.mark.parametrize("value", ["3GB", "512MB", "1.5GiB", None])
def test_accepted(value: str | None) -> None:
    data = load_settings().model_dump() | {"memory_limit": value}
    assert GraphSettings.model_validate(data).memory_limit == value


@pytest.mark.parametrize("value", ["3", "lots", "3GB'; DROP TABLE x; --", ""])
def test_rejected(value: str) -> None:
    data = load_settings().model_dump() | {"memory_limit": value}
    with pytest.raises(pydantic.ValidationError):
        GraphSettings.model_validate(data)
