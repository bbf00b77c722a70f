"""The SQL inside specs: parsed by sqlglot, checked against a whitelist, special forms rewritten.

Specs write SQL in sqlglot's default dialect. Only functions that mean the same on DuckDB
and Spark are allowed (:data:`ALLOWED`); the compiler renders the checked trees, and each
engine adapter transpiles them. Special forms:

* ``as_of()`` — the evaluation date, a DATE literal;
* ``terms(col, 'list')`` — 1 when ``col`` contains any term of the list, else 0;
* ``term_count(col, 'list')`` — how many distinct terms of the list ``col`` contains;
* ``ind('ID')`` — another indicator's value (derived indicators only);
* ``date_diff('day', start, end)`` — whole days from start to end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

# Aggregates with the same meaning on both engines.
AGGREGATES: tuple[type[exp.Expression], ...] = (
    exp.Count,
    exp.Sum,
    exp.Avg,
    exp.Min,
    exp.Max,
    exp.Median,
    exp.CountIf,
)
# Scalar functions and operators with the same meaning on both engines.
SCALARS: tuple[type[exp.Expression], ...] = (
    exp.Coalesce,
    exp.Nullif,
    exp.Greatest,
    exp.Least,
    exp.Abs,
    exp.Ln,
    exp.Exp,
    exp.Sqrt,
    exp.Pow,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Case,
    exp.If,
    exp.Cast,
    exp.DateDiff,
    exp.Year,
    exp.Month,
    exp.Length,
    exp.Lower,
    exp.Upper,
    exp.RegexpLike,
    exp.StrPosition,
    exp.Substring,
    exp.Concat,
    exp.DPipe,
    exp.ArrayContains,
    exp.ArraySize,
)
STRUCTURE: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Paren,
    exp.DataType,
    exp.Tuple,
    exp.Var,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Neg,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Ordered,
)
ALLOWED = AGGREGATES + SCALARS + STRUCTURE
SPECIAL = ("as_of", "terms", "term_count", "ind", "fy_date_diff")
# Readable names of the whitelist, for docs and error messages.
ALLOWED_FUNCTIONS = (
    "count, count(DISTINCT …), count_if, sum, avg, min, max, median, coalesce, nullif, "
    "greatest, least, abs, ln, exp, sqrt, power, round, floor, ceil, CASE, if, CAST, "
    "date_diff('day', a, b), year, month, length, lower, upper, regexp_like, strpos, "
    "substring, concat, ||, array_contains, array_size, LIKE, ILIKE, IN, BETWEEN, IS NULL, "
    "as_of(), terms(col, 'list'), term_count(col, 'list'), ind('ID')"
)
_DATE_DIFF = re.compile(r"\bdate_?diff\s*\(", re.IGNORECASE)


class ExprError(ValueError):
    """An expression does not parse, or uses something outside the whitelist."""


@dataclass(frozen=True)
class Checked:
    """A parsed expression and what it refers to."""

    tree: exp.Expression
    columns: frozenset[str]
    term_lists: frozenset[str]
    indicators: tuple[str, ...]
    aggregate: bool


def parse(text: str) -> exp.Expression:
    """Parse one SQL expression (sqlglot default dialect)."""
    try:
        tree = sqlglot.parse_one(_DATE_DIFF.sub("fy_date_diff(", text))
    except ParseError as exc:
        raise ExprError(f"does not parse: {_first_line(exc)}") from None
    if not isinstance(tree, exp.Expression) or isinstance(tree, exp.Query | exp.Command):
        raise ExprError("must be an expression, not a statement")
    return tree


def parse_order(text: str) -> list[exp.Ordered]:
    """Parse an ORDER BY list (``a DESC, b``)."""
    try:
        query = sqlglot.parse_one(f"SELECT 1 ORDER BY {_DATE_DIFF.sub('fy_date_diff(', text)}")
    except ParseError as exc:
        raise ExprError(f"does not parse: {_first_line(exc)}") from None
    order = query.args.get("order") if isinstance(query, exp.Select) else None
    if order is None or query.args.get("limit") is not None:
        raise ExprError("must be an ORDER BY list such as `annual_rate DESC, event_date DESC`")
    return list(order.expressions)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.key


def check(
    tree: exp.Expression,
    columns: Mapping[str, str] | None,
    *,
    allow_aggregate: bool,
    allow_indicators: bool = False,
) -> Checked:
    """Check ``tree`` against the whitelist and ``columns`` (None: no columns allowed)."""
    cols: set[str] = set()
    lists: set[str] = set()
    inds: list[str] = []
    aggregate = False
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            name = _name(node)
            if name not in SPECIAL:
                raise ExprError(f"function {name}() is not allowed (allowed: {ALLOWED_FUNCTIONS})")
            _check_special(node, name, lists, inds, allow_indicators)
            continue
        if isinstance(node, exp.Star):
            if not isinstance(node.parent, exp.Count):
                raise ExprError("`*` is only allowed in count(*)")
            continue
        if isinstance(node, exp.Distinct):
            if not isinstance(node.parent, exp.Count) or len(node.expressions) != 1:
                raise ExprError("DISTINCT is only allowed as count(DISTINCT one_column)")
            continue
        if not isinstance(node, ALLOWED):
            raise ExprError(f"{_name(node).upper()} is not allowed (allowed: {ALLOWED_FUNCTIONS})")
        if isinstance(node, AGGREGATES):
            if not allow_aggregate:
                raise ExprError(f"aggregate {_name(node)}() is not allowed here")
            if node.find_ancestor(*AGGREGATES) is not None:
                raise ExprError("aggregates cannot be nested")
            aggregate = True
        if isinstance(node, exp.DateDiff):
            raise ExprError("write date differences as date_diff('day', start, end)")
        if isinstance(node, exp.Column):
            if node.table:
                raise ExprError(f"column {node.sql()} must not be qualified by a table")
            if columns is None:
                raise ExprError(f"column {node.name!r} is not allowed here (use ind('ID'))")
            if node.name not in columns:
                raise ExprError(f"unknown column {node.name!r}")
            cols.add(node.name)
    if aggregate:
        for node in tree.find_all(exp.Column):
            if node.name in cols and node.find_ancestor(*AGGREGATES) is None:
                raise ExprError(f"column {node.name!r} is used outside an aggregate")
    return Checked(tree, frozenset(cols), frozenset(lists), tuple(inds), aggregate)


def _check_special(
    node: exp.Anonymous, name: str, lists: set[str], inds: list[str], allow_ind: bool
) -> None:
    args = node.expressions
    if name == "as_of":
        if args:
            raise ExprError("as_of() takes no arguments")
    elif name in ("terms", "term_count"):
        if len(args) != 2 or not (isinstance(args[1], exp.Literal) and args[1].is_string):
            raise ExprError(f"{name}(column, 'list id') needs a column and a quoted list id")
        lists.add(args[1].name)
    elif name == "ind":
        if not allow_ind:
            raise ExprError("ind() is only allowed in derived indicators (source: indicators)")
        if len(args) != 1 or not (isinstance(args[0], exp.Literal) and args[0].is_string):
            raise ExprError("ind('ID') needs one quoted indicator id")
        inds.append(args[0].name)
    elif name == "fy_date_diff":
        unit = args[0] if args else None
        if len(args) != 3 or not isinstance(unit, exp.Literal) or unit.name.lower() != "day":
            raise ExprError("date_diff needs ('day', start, end)")


def _alternation(terms: tuple[str, ...]) -> str:
    # Longest first, so that a regex engine reports the longer of two overlapping terms.
    return "|".join(re.escape(t) for t in sorted(terms, key=lambda t: (-len(t), t)))


def rewrite(
    tree: exp.Expression,
    *,
    as_of: date,
    terms: Mapping[str, tuple[str, ...]],
    indicator: Callable[[str], exp.Expression] | None = None,
    columns: Mapping[str, str] | None = None,
    term: Callable[[str, exp.Expression, str], exp.Expression] | None = None,
) -> exp.Expression:
    """Replace the special forms by portable SQL (a new tree; ``tree`` is not changed).

    ``columns`` (name → SQL type) lets ``terms`` read a LIST column as its elements joined,
    so a term matches when any element contains it. ``term(kind, argument, list id)``, when
    given, replaces each ``terms``/``term_count`` (kind) call instead: the compiler returns
    a column that an earlier step computed once per row (see :func:`term_key`).
    """
    as_of_sql = exp.Cast(this=exp.Literal.string(as_of.isoformat()), to=exp.DataType.build("DATE"))

    def fn(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Anonymous):
            return node
        name = _name(node)
        args = node.expressions
        if name == "as_of":
            return as_of_sql.copy()
        if term is not None and name in ("terms", "term_count"):
            return term(name, args[0], args[1].name)
        if name == "terms":
            pattern = exp.Literal.string(_alternation(terms[args[1].name]))
            hit = exp.RegexpLike(
                this=term_text(args[0], terms[args[1].name], columns), expression=pattern
            )
            return case_when(hit, exp.Literal.number(1), _zero())
        if name == "term_count":
            listed = terms[args[1].name]
            parts: list[exp.Expression] = [
                case_when(
                    exp.GT(
                        this=exp.StrPosition(
                            this=term_text(args[0], terms[args[1].name], columns),
                            substr=exp.Literal.string(t),
                        ),
                        expression=exp.Literal.number(0),
                    ),
                    exp.Literal.number(1),
                    _zero(),
                )
                for t in terms[args[1].name]
            ]
            total = parts[0]
            for part in parts[1:]:
                total = exp.Add(this=total, expression=part)
            # One regex over the whole list first: most texts contain no term, and then
            # the count is 0 without one substring search per term (same result: a NULL
            # text counts 0 either way).
            any_hit = exp.RegexpLike(
                this=term_text(args[0], listed, columns),
                expression=exp.Literal.string(_alternation(listed)),
            )
            return case_when(
                any_hit, exp.Paren(this=exp.Coalesce(this=total, expressions=[_zero()])), _zero()
            )
        if name == "ind":
            if indicator is None:
                raise ExprError("ind() outside a derived indicator")
            return indicator(args[0].name)
        if name == "fy_date_diff":
            return exp.DateDiff(this=args[2].copy(), expression=args[1].copy(), unit=exp.var("DAY"))
        return node

    out = tree.copy()
    # transform() does not revisit what a replacement contains (date_diff(…, as_of())):
    # repeat until no special form is left (nesting depth bounds the passes).
    for _ in range(10):
        out = out.transform(fn)
        if not any(_name(n) in SPECIAL for n in out.find_all(exp.Anonymous)):
            return out
    raise ExprError("special forms nested too deeply")


def term_key(kind: str, arg: exp.Expression, list_id: str) -> tuple[str, str, str]:
    """What identifies one term test: the form, its (unrewritten) argument's SQL, the list."""
    return kind, arg.sql(), list_id


def term_call(kind: str, arg: exp.Expression, list_id: str) -> exp.Expression:
    """The special form ``kind(arg, 'list_id')`` as a tree (to rewrite on its own)."""
    return exp.Anonymous(this=kind, expressions=[arg.copy(), exp.Literal.string(list_id)])


def term_text(
    arg: exp.Expression, terms: tuple[str, ...], columns: Mapping[str, str] | None
) -> exp.Expression:
    """The text ``terms`` searches: list elements joined; lower-cased for ASCII terms.

    Term lists write ASCII terms in lower case (``mt5``), so the column is lower-cased when
    a list has any ASCII letter; Chinese text is unchanged by ``lower``.
    """
    out = arg.copy()
    if isinstance(arg, exp.Column) and columns and columns.get(arg.name, "").endswith("[]"):
        out = exp.ArrayToString(this=out, expression=exp.Literal.string("\n"))
    if any(c.isascii() and c.isalpha() for t in terms for c in t) and not isinstance(
        out, exp.Lower
    ):
        out = exp.Lower(this=out)
    return out


def case_when(
    cond: exp.Expression, then: exp.Expression, default: exp.Expression | None
) -> exp.Expression:
    """``CASE WHEN cond THEN then ELSE default END`` (portable everywhere)."""
    return exp.Case(ifs=[exp.If(this=cond, true=then)], default=default)


def _zero() -> exp.Expression:
    return exp.Literal.number(0)
