"""The case state machine, loaded from ``case_states.yaml`` and checked.

The YAML is the model (followthemoney's schema files are the example): states, the
transitions between them with who may make them, what they require and the deadline they
set, the disposal measures, determinations, outcome labels and role permissions. This
module only parses and validates it; :mod:`fengyan.workflow.actions` interprets it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from fengyan.audit import load_actions
from fengyan.workflow.errors import WorkflowConfigError
from fengyan.yamlstrict import load_yaml

ROLES: Final = ("admin", "analyst", "investigator", "grid_worker", "auditor")
LEVELS: Final = ("province", "city", "district", "street", "community")
# Digits of a scope at each level (the significant prefix of a region code).
LEVEL_DIGITS: Final = {"province": 2, "city": 4, "district": 6, "street": 9, "community": 12}
DIGITS_LEVEL: Final = {v: k for k, v in LEVEL_DIGITS.items()}
CHOICE_SECTIONS: Final = ("modes", "disposals", "determinations")
PERMISSIONS: Final = (
    "view",
    "open",
    "assign",
    "supervise",
    "comment",
    "attach",
    "checklist",
    "transfer_lead",
    "record_outcome",
)
LEAD_KINDS: Final = ("police", "region")
STATES_FILE: Final = "case_states.yaml"


@dataclass(frozen=True, slots=True)
class Label:
    """A bilingual label."""

    zh: str
    en: str

    def text(self, lang: str | None) -> str:
        """The label in ``lang`` (zh by default)."""
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class State:
    """A case state."""

    id: str
    label: Label
    deadline_days: int | None
    final: bool


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a transition needs before it can be made."""

    fields: tuple[str, ...] = ()
    choices: dict[str, str] = field(default_factory=dict)
    checklist: bool = False
    attachments: int = 0
    lead: bool = False


@dataclass(frozen=True, slots=True)
class Transition:
    """A move from one state to another."""

    id: str
    label: Label
    source: str
    target: str
    roles: frozenset[str]
    levels: frozenset[str]
    requires: Requirements
    deadline_days: int | None
    hand_to: str | None
    audit: str


@dataclass(frozen=True, slots=True)
class Choice:
    """An entry of a choice section (a mode, a disposal, a determination)."""

    id: str
    label: Label
    outcome: str | None = None
    needs_lead: str | None = None


@dataclass(frozen=True)
class Machine:
    """The whole case workflow definition."""

    initial: str
    states: dict[str, State]
    transitions: dict[str, Transition]
    sections: dict[str, dict[str, Choice]]
    outcomes: dict[str, Label]
    permissions: dict[str, frozenset[str]]
    checklist_states: frozenset[str]

    def state(self, state_id: str) -> State:
        """The state called ``state_id``."""
        return self.states[state_id]

    def outgoing(self, state_id: str) -> list[Transition]:
        """Transitions leaving ``state_id``, in file order."""
        return [t for t in self.transitions.values() if t.source == state_id]

    def deadline_days(self, transition: Transition) -> int | None:
        """Days allowed for the next step after ``transition``."""
        if transition.deadline_days is not None:
            return transition.deadline_days
        return self.states[transition.target].deadline_days

    def allows(self, permission: str, role: str) -> bool:
        """Whether ``role`` holds the workflow ``permission``."""
        return role in self.permissions.get(permission, frozenset())


def _fail(file: str, entry: str, problem: str) -> WorkflowConfigError:
    return WorkflowConfigError(file, entry, problem)


def _label(spec: Any, file: str, entry: str) -> Label:
    if not isinstance(spec, dict) or not all(
        isinstance(spec.get(k), str) and spec[k].strip() for k in ("zh", "en")
    ):
        raise _fail(file, entry, "needs non-empty zh and en labels")
    return Label(spec["zh"], spec["en"])


def _days(value: Any, file: str, entry: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(file, entry, f"deadline_days must be a whole number ≥ 0, not {value!r}")
    return value


def _names(
    value: Any, allowed: tuple[str, ...], file: str, entry: str, what: str
) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise _fail(file, entry, f"needs a non-empty list of {what}")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise _fail(file, entry, f"unknown {what} {unknown}; known: {', '.join(allowed)}")
    return frozenset(value)


def _requirements(
    spec: Any, sections: dict[str, dict[str, Choice]], file: str, entry: str
) -> Requirements:
    if spec is None:
        return Requirements()
    if not isinstance(spec, dict):
        raise _fail(file, entry, "requires must be a mapping")
    unknown = set(spec) - {"fields", "choices", "checklist", "attachments", "lead"}
    if unknown:
        raise _fail(file, entry, f"unknown requirement(s) {sorted(unknown)}")
    fields = spec.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise _fail(file, entry, "requires.fields must be a list of field names")
    choices = spec.get("choices", {})
    if not isinstance(choices, dict):
        raise _fail(file, entry, "requires.choices must map a field to a section")
    for name, section in choices.items():
        if section not in sections:
            raise _fail(file, entry, f"choice {name!r} names unknown section {section!r}")
    attachments = spec.get("attachments", 0)
    if isinstance(attachments, bool) or not isinstance(attachments, int) or attachments < 0:
        raise _fail(file, entry, "requires.attachments must be a whole number ≥ 0")
    for flag in ("checklist", "lead"):
        if not isinstance(spec.get(flag, False), bool):
            raise _fail(file, entry, f"requires.{flag} must be true or false")
    return Requirements(
        tuple(fields),
        dict(choices),
        bool(spec.get("checklist", False)),
        attachments,
        bool(spec.get("lead", False)),
    )


def _sections(
    data: dict[str, Any], outcomes: dict[str, Label], file: str
) -> dict[str, dict[str, Choice]]:
    sections: dict[str, dict[str, Choice]] = {}
    for name in CHOICE_SECTIONS:
        raw = data.get(name)
        if not isinstance(raw, dict) or not raw:
            raise _fail(file, name, "needs a non-empty mapping")
        entries: dict[str, Choice] = {}
        for key, spec in raw.items():
            entry = f"{name}.{key}"
            label = _label(spec, file, entry)
            outcome = spec.get("outcome")
            if outcome is not None and outcome not in outcomes:
                raise _fail(file, entry, f"unknown outcome {outcome!r}")
            lead = spec.get("needs_lead")
            if lead is not None and lead not in LEAD_KINDS:
                raise _fail(file, entry, f"needs_lead must be one of {', '.join(LEAD_KINDS)}")
            entries[str(key)] = Choice(str(key), label, outcome, lead)
        sections[name] = entries
    return sections


def parse_machine(text: str, file: str) -> Machine:
    """Parse and check a state-machine file; errors name the file and the entry."""
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise _fail(file, "-", "not a mapping")
    raw_states = data.get("states")
    if not isinstance(raw_states, dict) or not raw_states:
        raise _fail(file, "states", "needs a non-empty mapping")
    states = {
        str(k): State(
            str(k),
            _label(v, file, f"states.{k}"),
            _days(v.get("deadline_days"), file, f"states.{k}"),
            bool(v.get("final", False)),
        )
        for k, v in raw_states.items()
    }
    initial = data.get("initial")
    if initial not in states:
        raise _fail(file, "initial", f"unknown state {initial!r}")
    raw_outcomes = data.get("outcomes")
    if not isinstance(raw_outcomes, dict) or not raw_outcomes:
        raise _fail(file, "outcomes", "needs a non-empty mapping")
    outcomes = {str(k): _label(v, file, f"outcomes.{k}") for k, v in raw_outcomes.items()}
    sections = _sections(data, outcomes, file)
    actions = load_actions()
    transitions: dict[str, Transition] = {}
    raw_transitions = data.get("transitions")
    if not isinstance(raw_transitions, list) or not raw_transitions:
        raise _fail(file, "transitions", "needs a non-empty list")
    for i, spec in enumerate(raw_transitions):
        entry = f"transitions[{i}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
            raise _fail(file, entry, "needs an id")
        tid = spec["id"]
        entry = f"transitions.{tid}"
        if tid in transitions:
            raise _fail(file, entry, "duplicate transition id")
        for end in ("from", "to"):
            if spec.get(end) not in states:
                raise _fail(file, entry, f"{end}: unknown state {spec.get(end)!r}")
        if "roles" not in spec or not spec["roles"]:
            raise _fail(file, entry, "a transition needs at least one role")
        roles = _names(spec.get("roles"), ROLES, file, entry, "roles")
        levels = _names(spec.get("levels"), LEVELS, file, entry, "levels")
        hand_to = spec.get("hand_to")
        if hand_to is not None and hand_to not in LEVELS:
            raise _fail(file, entry, f"hand_to: unknown level {hand_to!r}")
        audit = spec.get("audit", "case.transition")
        if audit not in actions:
            raise _fail(file, entry, f"audit action {audit!r} is not in the audit catalogue")
        if states[spec["from"]].final and states[spec["to"]].final:
            raise _fail(file, entry, "a transition between two final states")
        transitions[tid] = Transition(
            tid,
            _label(spec, file, entry),
            spec["from"],
            spec["to"],
            roles,
            levels,
            _requirements(spec.get("requires"), sections, file, entry),
            _days(spec.get("deadline_days"), file, entry),
            hand_to,
            audit,
        )
    # Every state must be reachable from the initial one, or cases could never get there.
    seen, queue = {initial}, deque([initial])
    while queue:
        for t in transitions.values():
            if t.source == queue[0] and t.target not in seen:
                seen.add(t.target)
                queue.append(t.target)
        queue.popleft()
    unreachable = sorted(set(states) - seen)
    if unreachable:
        raise _fail(file, "states", f"unreachable from {initial!r}: {', '.join(unreachable)}")
    for state in states.values():
        if not state.final and not any(t.source == state.id for t in transitions.values()):
            raise _fail(file, f"states.{state.id}", "a non-final state without a way out")
    raw_perms = data.get("permissions")
    if not isinstance(raw_perms, dict):
        raise _fail(file, "permissions", "needs a mapping")
    missing = [p for p in PERMISSIONS if p not in raw_perms]
    if missing or set(raw_perms) - set(PERMISSIONS):
        raise _fail(file, "permissions", f"must list exactly {', '.join(PERMISSIONS)}")
    permissions = {
        p: _names(raw_perms[p], ROLES, file, f"permissions.{p}", "roles") for p in PERMISSIONS
    }
    checklist_states = data.get("checklist_states", [])
    if not isinstance(checklist_states, list) or any(s not in states for s in checklist_states):
        raise _fail(file, "checklist_states", "must list known states")
    return Machine(
        initial, states, transitions, sections, outcomes, permissions, frozenset(checklist_states)
    )


@cache
def load_machine(path: Path | None = None) -> Machine:
    """The state machine shipped with the package (or the file at ``path``)."""
    if path is not None:
        return parse_machine(path.read_text(encoding="utf-8"), str(path))
    text = resources.files("fengyan.workflow").joinpath(STATES_FILE).read_text(encoding="utf-8")
    return parse_machine(text, STATES_FILE)
