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
# A restricted plan reads its firms from this table (one column ``firm_id``), which the
# adapter creates from ``Plan.firms`` before the first step: the plan itself does not
# depend on the firms, so one compiled and rendered plan serves every restricted run.
FIRMS_TABLE = "ind__firms"
# The text column of a term step's table (see ``Step.texts``).
TEXT_COLUMN = "ind__text"


@dataclass(frozen=True)
class TermTest:
    """One test of a term step: ``column`` = how many distinct ``terms`` the text contains
    (``count``), or 1 when it contains any of them, else 0. A NULL text gives 0."""

    column: str
    terms: tuple[str, ...]
    count: bool


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
    # A term step: ``texts`` returns one column of distinct texts; the step's table is
    # (TEXT_COLUMN, one INTEGER column per test). ``query`` computes it in plain SQL (regex
    # and strpos); an adapter may instead run ``texts`` and match the terms itself (the
    # DuckDB adapter: one Aho-Corasick automaton, ``termhits.py``; a Spark adapter: a
    # pandas UDF). Same table either way.
    texts: exp.Query | None = None
    terms: tuple[TermTest, ...] = ()
    # Rendered SQL per dialect (rendering a 100 kB step takes a good part of a second).
    _rendered: dict[str | None, str] = field(default_factory=dict, compare=False, repr=False)

    def sql(self, dialect: str | None = None) -> str:
        """The query in ``dialect`` (sqlglot's name; None: the default dialect)."""
        text = self._rendered.get(dialect)
        if text is None:
            text = self._rendered[dialect] = self.query.sql(dialect=dialect)
        return text

    def texts_sql(self, dialect: str | None = None) -> str:
        """A term step's query of distinct texts in ``dialect``."""
        if self.texts is None:
            raise ValueError(f"{self.name} is not a term step")
        key = f"texts:{dialect}"
        text = self._rendered.get(key)
        if text is None:
            text = self._rendered[key] = self.texts.sql(dialect=dialect)
        return text


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
