"""User-facing messages in Simplified Chinese first, English available.

Messages live in YAML catalogues under ``i18n/messages/`` (one file per part of the
system, so parts do not edit each other's files). Each entry is keyed by a stable code
and carries a ``zh`` and an ``en`` template using ``str.format`` fields::

    invalid_credit_code:
      zh: "统一社会信用代码 {value} 无效：{detail}"
      en: "Invalid unified social credit code {value}: {detail}"

Code refers to messages by code only; the language is chosen per call or by the
``FENGYAN_LANG`` environment variable (``zh`` by default).
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from typing import Any

from fengyan.yamlstrict import load_yaml

LANGUAGES = ("zh", "en")


class MessageCatalogueError(RuntimeError):
    """A catalogue file is malformed or two files define the same code."""


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Load and merge every message catalogue shipped with the package."""
    merged: dict[str, dict[str, str]] = {}
    origin: dict[str, str] = {}
    folder = resources.files("fengyan.i18n").joinpath("messages")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = load_yaml(entry.read_text(encoding="utf-8")) or {}
        for code, texts in data.items():
            if code in merged:
                raise MessageCatalogueError(
                    f"message code {code!r} defined in {origin[code]} and {entry.name}"
                )
            if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
                raise MessageCatalogueError(
                    f"{entry.name}: message {code!r} must have exactly zh and en texts"
                )
            merged[code] = {lang: str(texts[lang]) for lang in LANGUAGES}
            origin[code] = entry.name
    return merged


def current_language() -> str:
    """The language for user-facing text: ``FENGYAN_LANG`` if valid, else Chinese."""
    lang = os.environ.get("FENGYAN_LANG", "zh").lower()[:2]
    return lang if lang in LANGUAGES else "zh"


def t(code: str, lang: str | None = None, **params: Any) -> str:
    """Render message ``code`` in ``lang`` (default: the current language)."""
    entry = catalogue().get(code)
    if entry is None:
        raise KeyError(f"unknown message code {code!r}")
    template = entry[lang or current_language()]
    return template.format(**params)


def has_message(code: str) -> bool:
    """Whether a message with this code exists in any catalogue."""
    return code in catalogue()
