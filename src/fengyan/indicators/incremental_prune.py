"""Drop a per-firm statement's reads of tables known to be empty, keeping its rows and types.

A warm call (:mod:`fengyan.indicators.incremental`) runs the restricted plan's steps across
sources for a few firms. For a source without rows of those firms, each step reads that
source's default: an empty table. Reading it is free, planning it is not — DuckDB 2.0's
planning of a chain of outer joins grows faster than linearly (12 ``LEFT JOIN`` s of
empty 6-column tables: 8 ms, 6: 1.9 ms, measured), and ``ind__values`` joins the
aggregations of 12 sources. So, for a given set of empty tables, a step's tree is
rewritten once (cached by the caller) into one that does not read them:

* ``… LEFT JOIN empty AS a ON …``: the join goes, and every ``a.col`` of that select
  becomes ``CAST(NULL AS <col's type>)`` — what the outer join gives each row;
* a ``UNION ALL`` member ``SELECT * FROM empty`` or ``SELECT a, b FROM empty`` (not the
  first, which names the columns) goes: it adds no row. Its column types may have
  widened the union's; the caller casts the step's output to the full plan's schema.

Anything else reading an empty table (an inner join, a subquery, a column the rule cannot
place) is left as it is: the rewrite never changes what a step computes, only how much
DuckDB has to plan.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

# Column types of the empty tables: table → column → DuckDB type.
Types = Mapping[str, Mapping[str, str]]


def _inside(node: exp.Expr, root: exp.Expr) -> bool:
    """Whether ``node`` is ``root`` or below it."""
    at: exp.Expr | None = node
    while at is not None:
        if at is root:
            return True
        at = at.parent
    return False


def _owner(node: exp.Expression) -> exp.Select | None:
    """The select whose scope holds ``node``."""
    return node.find_ancestor(exp.Select)


def _drop_joins(select: exp.Select, empty: Types) -> None:
    """Remove ``select``'s outer joins with empty tables, its columns of them as NULLs."""
    joins = list(select.args.get("joins") or [])
    for join in joins:
        table = join.this
        if not (
            isinstance(table, exp.Table)
            and table.name in empty
            and join.side == "LEFT"
            and join.kind in ("", "OUTER")
            and join.args.get("on") is not None
            and not join.args.get("using")
        ):
            continue
        alias = table.alias_or_name
        types = empty[table.name]
        on = join.args["on"]
        refs = [c for c in select.find_all(exp.Column) if c.table == alias and not _inside(c, on)]
        # Every use must be this select's own, of a known column; no bare column may
        # name one of the table's (it could have resolved to it).
        bare = {c.name for c in select.find_all(exp.Column) if not c.table and _owner(c) is select}
        if any(_owner(c) is not select or c.name not in types for c in refs) or bare & set(types):
            continue
        for c in refs:
            null = exp.cast(exp.null(), exp.DataType.build(types[c.name], dialect="duckdb"))
            # A bare projection keeps its name (the column's).
            bare_projection = c.parent is select and any(c is e for e in select.expressions)
            c.replace(exp.alias_(null, c.name) if bare_projection else null)
        join.pop()


def _members(union: exp.Union) -> list[exp.Query] | None:
    """The members of a chain of ``UNION ALL`` (None for any other set operation)."""
    out: list[exp.Query] = []
    node: exp.Expression = union
    while isinstance(node, exp.Union):
        if node.args.get("distinct") or type(node) is not exp.Union:
            return None
        right = node.expression
        if not isinstance(right, exp.Query) or isinstance(right, exp.SetOperation):
            return None
        out.append(right)
        node = node.this
    if not isinstance(node, exp.Query):
        return None
    out.append(node)
    return out[::-1]


def _reads_only(member: exp.Query, empty: Types) -> bool:
    """Whether ``member`` is ``SELECT * FROM <empty table>`` or a plain list of its
    columns (no expression, filter, join or grouping): it adds no row."""
    if not isinstance(member, exp.Select) or not member.expressions:
        return False
    source = member.args.get("from_") or member.args.get("from")
    extra = ("joins", "where", "group", "having", "qualify", "limit", "order", "distinct")
    if source is None or any(member.args.get(k) for k in extra):
        return False
    table = source.this
    if not isinstance(table, exp.Table) or table.name not in empty:
        return False
    if len(member.expressions) == 1 and isinstance(member.expressions[0], exp.Star):
        return True
    names = table.alias_or_name
    return all(
        isinstance(e, exp.Column) and e.table in ("", names) and e.name in empty[table.name]
        for e in member.expressions
    )


def _drop_members(tree: exp.Expr, empty: Types) -> exp.Expr:
    """Remove ``SELECT * FROM <empty>`` members (not the first) from ``UNION ALL`` s."""
    for union in list(tree.find_all(exp.Union)):
        if isinstance(union.parent, exp.Union):
            continue  # the chain's top does it
        members = _members(union)
        if members is None:
            continue
        keep = [members[0], *(m for m in members[1:] if not _reads_only(m, empty))]
        if len(keep) == len(members):
            continue
        new: exp.Query = keep[0]
        for m in keep[1:]:
            new = exp.union(new, m, distinct=False)
        if union is tree:
            tree = new
        else:
            union.replace(new)
    return tree


def prune(query: exp.Query, empty: Types) -> exp.Query:
    """``query`` without its reads of the ``empty`` tables that change nothing (a copy)."""
    if not empty:
        return query
    tree = _drop_members(query.copy(), empty)
    for select in list(tree.find_all(exp.Select)):
        _drop_joins(select, empty)
    assert isinstance(tree, exp.Query)
    return tree
