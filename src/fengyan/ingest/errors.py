"""Errors and findings of ingestion, each with a stable code and a bilingual message."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fengyan.i18n import t


class IngestError(Exception):
    """The whole file cannot be used. Nothing from it is stored; the exit code is non-zero."""

    def __init__(self, code: str, file: str, **params: Any) -> None:
        self.code = code
        self.file = file
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the current language), naming the file."""
        return t(self.code, lang, file=self.file, **self.params)


@dataclass(frozen=True)
class Issue:
    """One finding about one record (and usually one field) of a file.

    ``severity`` is ``error`` (the record is quarantined) or ``warning`` (the record is
    stored and the finding is kept for review).
    """

    row: int | None
    field: str | None
    value: str | None
    reason: str
    severity: str = "error"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def message(self, file: str, lang: str | None = None) -> str:
        """A message naming the file, row and field."""
        detail = render_reason(self.reason, self.params, lang)
        where = t(
            "ingest_where",
            lang,
            file=file,
            row=self.row if self.row is not None else "-",
            field=self.field or "-",
        )
        return f"{where}: {detail}"


def render_reason(reason: str, params: dict[str, Any], lang: str | None = None) -> str:
    """The text of a finding in ``lang``; a nested standards finding is rendered too.

    Findings are stored as codes and parameters, never as text, so the quarantine reads
    in whatever language the person looking at it chose.
    """
    if "detail_code" in params:
        detail = t(params["detail_code"], lang, **params.get("detail_params", {}))
        params = {**params, "detail": detail}
    return t(reason, lang, **params)
