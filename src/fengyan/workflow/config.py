"""Workflow settings (``settings.yaml``): auto-opening, task flow, escalation, limits."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from fengyan.workflow.errors import WorkflowConfigError
from fengyan.workflow.machine import LEVELS
from fengyan.yamlstrict import load_yaml

SETTINGS_FILE: Final = "settings.yaml"


@dataclass(frozen=True)
class WorkflowSettings:
    """Typed view of ``settings.yaml``."""

    auto_grades: frozenset[str]
    auto_changes: frozenset[str]
    auto_holder_level: str
    model_priority: tuple[str, ...]
    levels_down: int
    escalation_repeat_days: int
    escalation_top_level: str
    attachment_max_bytes: int
    attachment_max_per_case: int
    attachment_max_name_chars: int
    attachment_allowed: frozenset[str]
    comment_max_chars: int
    field_max_chars: int
    idempotency_key_max_chars: int
    lead_format: str
    lead_max_package_bytes: int


def _get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise WorkflowConfigError(SETTINGS_FILE, path, "missing")
        node = node[part]
    return node


def _int(data: dict[str, Any], path: str, minimum: int = 0) -> int:
    value = _get(data, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise WorkflowConfigError(SETTINGS_FILE, path, f"must be a whole number ≥ {minimum}")
    return value


def _level(data: dict[str, Any], path: str) -> str:
    value = _get(data, path)
    if value not in LEVELS:
        raise WorkflowConfigError(SETTINGS_FILE, path, f"must be one of {', '.join(LEVELS)}")
    return str(value)


def _strings(data: dict[str, Any], path: str) -> tuple[str, ...]:
    value = _get(data, path)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise WorkflowConfigError(SETTINGS_FILE, path, "must be a non-empty list of strings")
    return tuple(value)


def parse_settings(text: str) -> WorkflowSettings:
    """Parse and check the settings file."""
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise WorkflowConfigError(SETTINGS_FILE, "-", "not a mapping")
    return WorkflowSettings(
        auto_grades=frozenset(_strings(data, "auto_open.grades")),
        auto_changes=frozenset(_strings(data, "auto_open.changes")),
        auto_holder_level=_level(data, "auto_open.holder_level"),
        model_priority=_strings(data, "auto_open.model_priority"),
        levels_down=_int(data, "assignment.levels_down", 1),
        escalation_repeat_days=_int(data, "escalation.repeat_days", 1),
        escalation_top_level=_level(data, "escalation.top_level"),
        attachment_max_bytes=_int(data, "attachments.max_bytes", 1),
        attachment_max_per_case=_int(data, "attachments.max_per_case", 1),
        attachment_max_name_chars=_int(data, "attachments.max_name_chars", 1),
        attachment_allowed=frozenset(_strings(data, "attachments.allowed")),
        comment_max_chars=_int(data, "text.comment_max_chars", 1),
        field_max_chars=_int(data, "text.field_max_chars", 1),
        idempotency_key_max_chars=_int(data, "text.idempotency_key_max_chars", 8),
        lead_format=str(_get(data, "leads.format")),
        lead_max_package_bytes=_int(data, "leads.max_package_bytes", 1),
    )


@cache
def load_settings() -> WorkflowSettings:
    """The settings shipped with the package."""
    text = resources.files("fengyan.workflow").joinpath(SETTINGS_FILE).read_text("utf-8")
    return parse_settings(text)
