"""Who may see and act on a case: jurisdiction (scope) and role, decided here only.

Scope logic is W1's :mod:`fengyan.web.scope` (a pure module, importable without the web
stack): a principal's scope is a region prefix (2 province, 4 city, 6 district, 9 street,
12 community digits). A case is *visible* to a principal when its region or the unit
holding it lies inside the principal's scope, so each level sees everything below it and a
street user sees only its street's cases. Cases outside the scope answer "not found",
exactly like cases that do not exist.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_

from fengyan.db.cases import Case
from fengyan.standards.regions import CODE_LENGTHS
from fengyan.web.scope import Principal, in_scope, prefix_condition
from fengyan.workflow.errors import ActionForbidden, CaseNotFound, invalid
from fengyan.workflow.machine import DIGITS_LEVEL, LEVEL_DIGITS, Machine

__all__ = [
    "Principal",
    "at_level",
    "can_see",
    "check_scope_code",
    "compatible",
    "level_of",
    "parent_scope",
    "require",
    "require_visible",
    "require_worker",
    "system_principal",
    "visible_condition",
]


def system_principal(job: str) -> Principal:
    """The actor of a scheduled job (``system:<job>``); it is not scope-checked."""
    return Principal(f"system:{job}", "admin", "", frozenset(), "hidden", via="system")


def level_of(scope: str) -> str | None:
    """province, city, district, street or community — or None for a malformed scope."""
    return DIGITS_LEVEL.get(len(scope)) if scope.isdigit() else None


def parent_scope(scope: str) -> str | None:
    """The scope one level up (``440305001`` → ``440305``); None above the province."""
    lengths = [n for n in CODE_LENGTHS if 0 < n < len(scope)]
    return scope[: lengths[-1]] if lengths else None


def at_level(scope: str, level: str) -> str:
    """``scope`` cut to ``level`` (only ever shortened)."""
    return scope[: min(len(scope), LEVEL_DIGITS[level])]


def compatible(a: str, b: str) -> bool:
    """Whether two region prefixes lie on one line of the hierarchy (one contains the other)."""
    return a.startswith(b) or b.startswith(a)


def check_scope_code(code: str, field: str = "scope") -> str:
    """A unit code as given: digits, 2/4/6/9/12 long; ``InvalidAction`` otherwise."""
    text = code.strip()
    if level_of(text) is None:
        raise invalid("workflow_bad_scope", field=field, value=code)
    return text


def can_see(principal: Principal, case: Case) -> bool:
    """Whether the case lies inside the principal's jurisdiction."""
    return in_scope(principal, case.region_code) or in_scope(principal, case.holder_scope)


def visible_condition(principal: Principal) -> ColumnElement[bool]:
    """The SQL condition selecting the cases a principal can see."""
    if not principal.scope:
        return false()
    return or_(
        prefix_condition(Case.region_code, principal.scope),
        prefix_condition(Case.holder_scope, principal.scope),
    )


def require(machine: Machine, principal: Principal, permission: str, **params: Any) -> None:
    """Raise ``ActionForbidden`` unless the principal's role holds the workflow permission."""
    if not machine.allows(permission, principal.role):
        raise ActionForbidden(
            "workflow_role_forbidden", role=principal.role, action=permission, **params
        )


def require_visible(principal: Principal, case: Case | None, case_id: int) -> Case:
    """The case, or ``CaseNotFound`` when it is missing or outside the scope."""
    if case is None or not can_see(principal, case):
        raise CaseNotFound(case_id=case_id)
    return case


def require_worker(principal: Principal, case: Case) -> None:
    """Raise unless the principal works the case: its unit holds it or is above the holder.

    At the holder's own level, a case assigned to a named person is worked by that person.
    """
    if not case.holder_scope.startswith(principal.scope):
        raise ActionForbidden("workflow_not_holder", case_id=case.id, holder=case.holder_scope)
    if principal.scope == case.holder_scope and case.assignee not in (None, principal.username):
        raise ActionForbidden("workflow_not_assignee", case_id=case.id, assignee=case.assignee)
