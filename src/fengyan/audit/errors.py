"""The audit log's one error type: a stable message code and its parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fengyan.i18n import t


class AuditError(ValueError):
    """An audit operation that cannot be done (bad entry, unknown action, missing key …).

    Carries a message code of ``i18n/messages/audit.yaml`` and its parameters, so the
    caller shows it in the reader's language.
    """

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the current language)."""
        return t(self.code, lang, **self.params)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing ``verify`` found: an error (tampering), a warning, or information.

    ``seq`` is the entry the finding is about, when there is one.
    """

    severity: str  # "error" | "warning" | "info"
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None

    def message(self, lang: str | None = None) -> str:
        """The finding in ``lang`` (default: the current language)."""
        return t(self.code, lang, **self.params)
