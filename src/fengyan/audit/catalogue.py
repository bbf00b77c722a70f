"""The catalogue of audit actions (``actions.yaml``): names as data, with labels."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from fengyan.audit.errors import AuditError
from fengyan.yamlstrict import load_yaml

ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
CATALOGUE_FILE = "actions.yaml"


@dataclass(frozen=True, slots=True)
class Action:
    """One kind of audited event."""

    name: str
    zh: str
    en: str
    personal_data: bool

    def label(self, lang: str) -> str:
        """The label in ``lang`` (zh or en)."""
        return self.en if lang == "en" else self.zh


def parse_catalogue(text: str, source: str) -> dict[str, Action]:
    """Parse and check a catalogue; errors name the file and the action."""
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise AuditError(
            "audit_catalogue_bad", file=source, action="-", problem=str(exc).replace("\n", " ")
        ) from exc
    if not isinstance(data, dict):
        raise AuditError("audit_catalogue_bad", file=source, action="-", problem="not a mapping")
    actions: dict[str, Action] = {}
    for name, spec in data.items():
        if not isinstance(name, str) or not ACTION_NAME.match(name):
            raise AuditError(
                "audit_catalogue_bad", file=source, action=name, problem="name not <area>.<verb>"
            )
        if not isinstance(spec, dict) or set(spec) != {"zh", "en", "personal_data"}:
            raise AuditError(
                "audit_catalogue_bad",
                file=source,
                action=name,
                problem="needs exactly zh, en and personal_data",
            )
        if not all(isinstance(spec[k], str) and spec[k].strip() for k in ("zh", "en")):
            raise AuditError("audit_catalogue_bad", file=source, action=name, problem="empty label")
        if not isinstance(spec["personal_data"], bool):
            raise AuditError(
                "audit_catalogue_bad", file=source, action=name, problem="personal_data not bool"
            )
        actions[name] = Action(name, spec["zh"], spec["en"], spec["personal_data"])
    return actions


@cache
def load_actions(path: Path | None = None) -> dict[str, Action]:
    """The action catalogue shipped with the package (or the file at ``path``)."""
    if path is not None:
        return parse_catalogue(path.read_text(encoding="utf-8"), str(path))
    text = resources.files("fengyan.audit").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return parse_catalogue(text, CATALOGUE_FILE)


def get_action(name: str) -> Action:
    """The catalogued action called ``name``; an :class:`AuditError` if there is none."""
    action = load_actions().get(name)
    if action is None:
        raise AuditError("audit_unknown_action", action=name, file=CATALOGUE_FILE)
    return action
