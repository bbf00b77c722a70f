"""THE one place where data is filtered by jurisdiction (管辖范围).

A :class:`Principal` is whoever makes a request: a user's name, role, permissions, masking
level and *scope*, the significant prefix of a region code (2 digits province, 4 city,
6 district, 9 street, 12 community). An object is inside the scope when its region code
starts with that prefix; objects without a region code are inside no scope (fail closed).

Every service that reads scoped data goes through one of these:

* :func:`scoped` adds the prefix condition to a SQLAlchemy ``select``;
* :func:`check_object` raises :class:`~fengyan.web.errors.NotFound` for one object outside
  the scope — the same answer as for an object that does not exist, so ids of other
  jurisdictions cannot be probed (404, never 403);
* :func:`narrow` turns a requested region filter into the prefix to query with (a district
  user asking for the whole city gets their district; asking for another district is 404);
* :func:`filter_arrow` and :func:`duckdb_condition` do the same for lake reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, false

from fengyan.standards.regions import (
    CODE_LENGTHS,
    UnknownRegionError,
    region_table,
    significant_prefix,
)
from fengyan.web.errors import BadRequest, NotFound
from fengyan.web.policy import PUBLIC_ROLE, load_policy

LEVELS = {2: "province", 4: "city", 6: "district", 9: "street", 12: "community"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: identity, role, permissions, masking level and jurisdiction."""

    username: str
    role: str
    scope: str
    permissions: frozenset[str]
    masking: str
    display_name: str = ""
    user_id: int | None = None
    # "session" (browser cookie), "token" (Authorization: Bearer), "anonymous"
    via: str = "anonymous"
    # The session's CSRF token, for pages to echo back; None for tokens and anonymous.
    csrf_token: str | None = field(default=None, repr=False)

    @classmethod
    def for_role(
        cls,
        username: str,
        role: str,
        scope: str,
        *,
        display_name: str = "",
        user_id: int | None = None,
        via: str = "session",
        csrf_token: str | None = None,
    ) -> Principal:
        """A principal whose permissions and masking come from the policy for ``role``."""
        spec = load_policy().role(role)
        return cls(
            username, role, scope, spec.permissions, spec.masking, display_name or username,
            user_id, via, csrf_token,
        )  # fmt: skip

    @classmethod
    def anonymous(cls) -> Principal:
        """Someone not signed in: the public role, no scope, nothing personal."""
        return cls.for_role("anonymous", PUBLIC_ROLE, "", via="anonymous")

    @property
    def authenticated(self) -> bool:
        """Whether this is a signed-in user or a token holder."""
        return self.via != "anonymous"

    @property
    def level(self) -> str:
        """province, city, district, street or community."""
        return LEVELS.get(len(self.scope), "none")

    def can(self, permission: str) -> bool:
        """Whether the role holds ``permission`` (checked against the declared list)."""
        return self.authenticated and load_policy().allows(self.role, permission)


def scope_code(code: str | int) -> str:
    """The significant prefix of a region that exists in the division table.

    Used when a user's scope is set: a malformed or unknown code raises ``ValueError``
    (an :class:`~fengyan.standards.regions.UnknownRegionError`).
    """
    region = region_table().get(code)
    if region is None:
        raise UnknownRegionError(code)
    return region.code


def in_scope(principal: Principal, region_code: str | None) -> bool:
    """Whether an object with ``region_code`` lies inside the principal's jurisdiction."""
    if not principal.scope or not region_code:
        return False
    return str(region_code).startswith(principal.scope)


def check_object(principal: Principal, region_code: str | None) -> None:
    """Raise ``NotFound`` unless the object is inside the principal's jurisdiction."""
    if not in_scope(principal, region_code):
        raise NotFound()


def prefix_condition(column: SQLColumnExpression[Any], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, written so that a B-tree index serves it.

    Codes are digits of at most 12 characters, so every code with the prefix lies in
    ``[prefix, prefix + 9…9]``: the range uses the index on both backends (a LIKE with a
    bound pattern does not, on SQLite), the LIKE keeps the answer exact under any collation.
    """
    if not prefix.isdigit() or len(prefix) > 12:
        raise ValueError(f"not a region prefix: {prefix!r}")
    upper = prefix.ljust(12, "9")
    return and_(column >= prefix, column <= upper, column.startswith(prefix, autoescape=True))


def scoped(stmt: _S, column: SQLColumnExpression[Any], principal: Principal) -> _S:
    """``stmt`` restricted to rows whose ``column`` lies in the principal's scope.

    A principal without a scope (the public) gets no rows at all.
    """
    if not principal.scope:
        return stmt.where(false())
    return stmt.where(prefix_condition(column, principal.scope))


def normalize_filter(code: str) -> str:
    """A requested region filter as a significant prefix; ``BadRequest`` if malformed."""
    text = code.strip()
    if len(text) not in CODE_LENGTHS[1:] or not text.isdigit():
        raise BadRequest("web_bad_region", value=code)
    prefix = significant_prefix(text)
    if prefix is None:
        raise BadRequest("web_bad_region", value=code)
    return prefix


def narrow(principal: Principal, requested: str | None) -> str:
    """The prefix to query with when the caller asks for region ``requested``.

    ``None`` → the principal's scope. A region inside the scope → that region. A region
    containing the scope (a district user asking for the city) → the scope. A region
    disjoint from the scope → ``NotFound``, exactly as for an unknown region.
    """
    if not principal.scope:
        raise NotFound()
    if requested is None or requested == "":
        return principal.scope
    prefix = normalize_filter(requested)
    if prefix.startswith(principal.scope):
        return prefix
    if principal.scope.startswith(prefix):
        return principal.scope
    raise NotFound()


def filter_arrow(table: pa.Table, column: str, principal: Principal) -> pa.Table:
    """Rows of an Arrow table (a lake read) whose ``column`` lies in the scope."""
    if not principal.scope:
        return table.slice(0, 0)
    values = table.column(column)
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = pc.cast(values, pa.string())
    keep = pc.fill_null(pc.starts_with(values, principal.scope), False)
    return table.filter(keep)


def duckdb_condition(column: str, principal: Principal) -> tuple[str, list[str]]:
    """A DuckDB ``WHERE`` fragment and its parameters for lake queries.

    ``column`` must be a plain (optionally table-qualified) identifier; the prefix is
    always a bound parameter.
    """
    if not _IDENTIFIER.match(column):
        raise ValueError(f"not a column identifier: {column!r}")
    if not principal.scope:
        return "FALSE", []
    return f"starts_with(CAST({column} AS VARCHAR), ?)", [principal.scope]
