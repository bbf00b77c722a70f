"""The engine-neutral plan: named steps, each a sqlglot query tree.

The compiler builds a plan once; an engine adapter renders each step in its own dialect
(``step.sql("duckdb")``, ``step.sql("spark")``) and runs the steps in order, each step
reading the tables the earlier ones created. Nothing here knows any engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlglot import exp

# Tables the plan produces for the ``indicators`` stage, by output name.
OUTPUTS = ("indicator_score", "indicator_value", "indicator_cutpoints")


@dataclass(frozen=True)
class Step:
    """One named query.

    ``materialise``: the adapter stores the result (a table) rather than defining a view,
    because later steps read it several times. ``output``: the result is one of the
    stage's tables (:data:`OUTPUTS`) and is handed back to the caller.
    """

    name: str
    query: exp.Query
    materialise: bool = True
    output: str | None = None
    description: str = ""

    def sql(self, dialect: str | None = None) -> str:
        """The query in ``dialect`` (sqlglot's name; None: the default dialect)."""
        return self.query.sql(dialect=dialect)


@dataclass
class Plan:
    """Steps in execution order, with what they were compiled for."""

    steps: list[Step]
    as_of: date
    firms: tuple[str, ...] | None
    indicators: tuple[str, ...]
    rank_indicators: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, Step]:
        """Output name → the step producing it."""
        return {s.output: s for s in self.steps if s.output is not None}

    def render(self, dialect: str | None = None) -> list[tuple[str, str]]:
        """(step name, SQL) for every step, in ``dialect``."""
        return [(s.name, s.sql(dialect)) for s in self.steps]
