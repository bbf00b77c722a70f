"""Generated documents must match the committed ones (docs cannot drift)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan.docsgen import generated_docs

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", sorted(generated_docs()))
def test_generated_doc_is_current(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8") if (DOCS / name).exists() else ""
    assert committed == generated_docs()[name], (
        f"docs/{name} is stale: run `fengyan docs` and commit"
    )
