"""Sources the indicator specs read: lake and derived tables, each reaching a canonical firm.

``sources.yaml`` says, for each source, which table it reads, its grain (one row per firm,
many undated rows, or dated events), how a row reaches its firm through resolution's
``resolved_link``, which column dates it and what it cites as evidence. Column names and
types come from the schema YAML for lake tables and from the ``derived`` block for tables
other stages compute, so that a spec naming a column that does not exist is rejected when
the specs are loaded, not when a query fails.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import sqlglot
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlglot import exp
from sqlglot.errors import ParseError

from fengyan.schema import FieldSpec, FieldType, Schema, load_schema
from fengyan.yamlstrict import load_yaml

Grain = Literal["firm", "state", "event"]

# Columns every source view has besides its table's own.
ENGINE_COLUMNS = {"firm_id": "VARCHAR", "event_date": "DATE", "evidence_key": "VARCHAR"}
# System columns of lake tables (lake/store.py), readable by specs too.
SYSTEM_COLUMN_TYPES = {
    "_id": "VARCHAR",
    "_hash": "VARCHAR",
    "_batch": "VARCHAR",
    "_seq": "BIGINT",
    "_source": "VARCHAR",
    "_row": "BIGINT",
    "_valid_from": "TIMESTAMPTZ",
}
# The universe view's own columns, before the registry record's.
FIRM_COLUMNS = {"firm_kind": "VARCHAR", "firm_name": "VARCHAR"}
FIRM_TABLE = "firm"
# Suffix of the lake's history views (every version, with `_valid_to`).
VERSIONS_SUFFIX = "__versions"

_SQL_TYPES = {
    FieldType.DATE: "DATE",
    FieldType.DATETIME: "TIMESTAMPTZ",
    FieldType.MONEY: "DOUBLE",
    FieldType.NUMBER: "DOUBLE",
    FieldType.PERCENT: "DOUBLE",
    FieldType.INTEGER: "BIGINT",
    FieldType.BOOLEAN: "BOOLEAN",
}


class SourceError(ValueError):
    """sources.yaml is malformed or names a table or column that does not exist."""


class CodeLink(BaseModel):
    """The firm is reached through a credit code column (branch codes reach the parent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str


class ColumnLink(BaseModel):
    """The column already holds the canonical firm id."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    column: str


FirmLink = Literal["record"] | CodeLink | ColumnLink


class SourceDef(BaseModel):
    """One source: a table seen as rows that belong to firms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    table: str
    grain: Grain
    firm: tuple[FirmLink, ...] = ()
    event_date: str | None = None
    evidence: str = "record"
    where: str | None = None
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> SourceDef:
        if self.grain == "event" and self.event_date is None:
            raise ValueError("an event source needs `event_date`")
        if self.grain != "event" and self.event_date is not None:
            raise ValueError("only event sources have `event_date`")
        if self.table != FIRM_TABLE and not self.firm:
            raise ValueError("a source needs at least one way to reach its firm (`firm`)")
        return self


class ViewDef(BaseModel):
    """A table the engine builds from other tables (``views`` in sources.yaml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sql: str
    # The same view for a restricted run: may read ``ind__firms`` (the chosen firms) and
    # must give exactly the full view's rows whose ``firm_id`` is chosen (tested).
    restricted_sql: str | None = None
    like: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class _SourcesFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    sources: dict[str, SourceDef]
    derived: dict[str, dict[str, str]] = Field(default_factory=dict)
    views: dict[str, ViewDef] = Field(default_factory=dict)


def sql_type(spec: FieldSpec) -> str:
    """The SQL type (sqlglot default dialect) of a schema field as the lake stores it."""
    base = _SQL_TYPES.get(spec.type, "VARCHAR")
    return f"{base}[]" if spec.multiple else base


def lake_columns(schema: Schema, table: str) -> dict[str, str]:
    """Column → SQL type of a lake table: system columns, then the fields as stored."""
    entity = schema.get(table)
    cols = dict(SYSTEM_COLUMN_TYPES)
    for name, spec in entity.fields.items():
        if spec.pseudonymise:
            cols[f"{name}_hash"] = "VARCHAR"
            cols[f"{name}_masked"] = "VARCHAR"
        else:
            cols[name] = sql_type(spec)
    return cols


class SourceCatalog:
    """The sources of ``sources.yaml`` with the columns of each."""

    def __init__(
        self,
        sources: dict[str, SourceDef],
        derived: dict[str, dict[str, str]],
        views: dict[str, ViewDef] | None = None,
    ):
        self.sources = sources
        self.derived = derived
        self.views = dict(views or {})
        self.schema = load_schema()
        self._view_trees: dict[tuple[str, bool], exp.Expression] = {}
        for name, view in self.views.items():
            if name in derived or name in self.schema.types:
                raise SourceError(f"sources.yaml: view {name!r} shadows a table")
            for restricted, sql in ((False, view.sql), (True, view.restricted_sql)):
                if sql is None:
                    continue
                try:
                    tree = sqlglot.parse_one(sql)
                except ParseError as exc:
                    raise SourceError(f"sources.yaml: view {name}: {exc}") from None
                if not isinstance(tree, exp.Query) or not isinstance(tree, exp.Expression):
                    raise SourceError(f"sources.yaml: view {name}: not a SELECT")
                self._view_trees[name, restricted] = tree
        self._columns: dict[str, dict[str, str]] = {}
        for name, src in sources.items():
            self._columns[name] = self._source_columns(name, src)

    def table_columns(self, table: str) -> dict[str, str]:
        """Column → SQL type of a lake or derived table (``firm`` is the universe view)."""
        if table == FIRM_TABLE:
            return {**FIRM_COLUMNS, **lake_columns(self.schema, "enterprise")}
        if table in self.derived:
            return dict(self.derived[table])
        if table in self.views:
            view = self.views[table]
            like = self.table_columns(view.like) if view.like else {}
            return {**like, **view.columns}
        if table.endswith(VERSIONS_SUFFIX):
            base = self.table_columns(table.removesuffix(VERSIONS_SUFFIX))
            return {**base, "_valid_to": "TIMESTAMPTZ"}
        try:
            return lake_columns(self.schema, table)
        except KeyError:
            raise SourceError(
                f"table {table!r} is neither a schema type nor a derived table"
            ) from None

    def _source_columns(self, name: str, src: SourceDef) -> dict[str, str]:
        cols = self.table_columns(src.table)
        named = [src.event_date, src.evidence if src.evidence != "record" else None]
        for link in src.firm:
            if isinstance(link, CodeLink):
                named.append(link.code)
            elif isinstance(link, ColumnLink):
                named.append(link.column)
            elif src.table in self.derived:
                raise SourceError(f"sources.yaml: {name}: derived tables have no record links")
        for col in named:
            if col is not None and col not in cols:
                raise SourceError(f"sources.yaml: {name}: column {col!r} not in {src.table!r}")
        return {**cols, **ENGINE_COLUMNS}

    def view_sql(
        self,
        name: str,
        as_of: date,
        available: Collection[str],
        terms: Mapping[str, tuple[str, ...]],
        restricted: bool = False,
    ) -> str:
        """The SELECT building view ``name`` as of ``as_of`` (sqlglot default dialect).

        ``restricted``: its ``restricted_sql`` when it has one (rows of the chosen firms
        only, read from ``ind__firms``).

        ``as_of()`` and ``terms()`` are rewritten as in specs; a lake or derived table that
        is not in ``available`` reads as an empty relation with its columns, so a view over
        a stage that has not run yields no rows instead of failing.
        """
        from fengyan.indicators import expr

        tree = self._view_trees.get((name, restricted)) or self._view_trees[name, False]
        tree = expr.rewrite(tree, as_of=as_of, terms=terms)
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}

        def absent(node: exp.Expression) -> exp.Expression:
            if not isinstance(node, exp.Table) or node.name in ctes or node.name in available:
                return node
            try:
                cols = self.table_columns(node.name)
            except SourceError:
                return node
            empty = ", ".join(
                f'CAST(NULL AS {t}) AS "{c}"' for c, t in cols.items()
            )  # types and names come from sources.yaml and the schema
            sub = sqlglot.parse_one(f"SELECT {empty} WHERE 1 = 0")
            return exp.Subquery(
                this=sub, alias=exp.TableAlias(this=exp.to_identifier(node.alias_or_name))
            )

        return tree.transform(absent).sql()

    def columns(self, source: str) -> dict[str, str]:
        """Column → SQL type of a source view (the table's columns and the engine's)."""
        return self._columns[source]

    def __contains__(self, source: object) -> bool:
        return source in self.sources

    def get(self, source: str) -> SourceDef:
        """The source called ``source``."""
        return self.sources[source]


def load_sources(path: Path | None = None) -> SourceCatalog:
    """Load ``sources.yaml`` (the packaged one by default) and check it against the schema."""
    if path is None:
        return _default_sources()
    return _parse(path.read_text(encoding="utf-8"), str(path))


@cache
def _default_sources() -> SourceCatalog:
    text = resources.files("fengyan.indicators").joinpath("sources.yaml").read_text("utf-8")
    return _parse(text, "sources.yaml")


def _parse(text: str, origin: str) -> SourceCatalog:
    try:
        data = _SourcesFile.model_validate(load_yaml(text))
    except ValidationError as exc:
        raise SourceError(f"{origin}: {exc}") from None
    sources = {n: s.model_copy(update={"name": n}) for n, s in data.sources.items()}
    return SourceCatalog(sources, data.derived, data.views)
