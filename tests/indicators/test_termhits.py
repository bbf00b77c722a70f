"""Term tests through the Aho-Corasick automaton equal the regex + strpos SQL path.

On real Chinese company names (../shared/data: P2P operators' registered names and brand
short forms) and the packaged term lists, with NULLs, empty texts, ASCII and list-joined
texts; and the engine's term steps give the same table either way.
"""

from __future__ import annotations

import random
from datetime import date

import duckdb
import pyarrow as pa

from fengyan.indicators import expr
from fengyan.indicators.compiler import compile_plan
from fengyan.indicators.engines.duckdb import DIALECT
from fengyan.indicators.load import load_specs
from fengyan.indicators.plan import TEXT_COLUMN, TermTest
from fengyan.indicators.termhits import TermMatcher
from tests.realnames import p2p_names_and_brands

AS_OF = date(2024, 6, 30)


def _texts() -> list[str | None]:
    full, shorts = p2p_names_and_brands()
    rng = random.Random(7)
    shorts = [s for s in shorts if s]
    # Names, brands, and names glued to scopes and brands (longer texts, many hits).
    texts: list[str | None] = list(full[:3000]) + rng.sample(shorts, 3000)
    texts += [f"{rng.choice(full)} {rng.choice(shorts)}理财投资 p2p 金融服务" for _ in range(500)]
    texts += [None, "", "金融金融", "MT5 外汇 USDT", "投资\n资本", "理财"]
    return texts


def test_automaton_equals_regex_path_on_real_names() -> None:
    specs = load_specs()
    lists = {k: v.terms for k, v in specs.terms.items()}
    texts = _texts()
    tests = [
        TermTest(f"c{i}", terms, count)
        for i, (terms, count) in enumerate((t, c) for t in lists.values() for c in (False, True))
    ]
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (i INTEGER, {TEXT_COLUMN} VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    selects = []
    for (list_id, _), test in zip(
        ((k, c) for k in lists for c in (False, True)), tests, strict=True
    ):
        kind = "term_count" if test.count else "terms"
        tree = expr.rewrite(
            expr.term_call(kind, expr.parse(TEXT_COLUMN), list_id), as_of=AS_OF, terms=lists
        )
        selects.append(tree.sql(DIALECT))
    want = con.execute(f"SELECT {', '.join(selects)} FROM t ORDER BY i").fetchall()
    # The SQL path lower-cases the text for lists with ASCII letters; so does the plan's
    # texts query before the automaton sees it.
    lowered = con.sql(f"SELECT lower({TEXT_COLUMN}) FROM t ORDER BY i").to_arrow_table()[0]
    plain = pa.array(texts, pa.string())
    ascii_tests = [t for t in tests if any(c.isascii() and c.isalpha() for w in t.terms for c in w)]
    other_tests = [t for t in tests if t not in ascii_tests]
    assert ascii_tests and other_tests
    got = {
        **{t.column: TermMatcher(ascii_tests).hits(lowered).column(t.column) for t in ascii_tests},
        **{t.column: TermMatcher(other_tests).hits(plain).column(t.column) for t in other_tests},
    }
    hits = 0
    for j, test in enumerate(tests):
        column = got[test.column].to_pylist()
        assert column == [r[j] for r in want], test.column
        hits += sum(1 for v in column if v)
    assert hits > 1000  # the real names do hit the lists


def test_matches_do_not_cross_neighbouring_texts() -> None:
    tests = [TermTest("n", ("金融", "融资"), True)]
    got = TermMatcher(tests).hits(pa.array(["深圳金", "融资", "a金", None, "融"]))
    # "金" + "融资": the bytes of 金融 span two texts and do not count.
    assert got.column("n").to_pylist() == [0, 1, 0, 0, 0]
    sliced = pa.array(["x", "金融资", "金"]).slice(1)
    assert TermMatcher(tests).hits(sliced).column("n").to_pylist() == [2, 0]


def test_term_steps_run_as_automaton_or_sql_alike() -> None:
    """The packaged plan's term steps: texts query + automaton == the fallback SQL."""
    specs = load_specs()
    tables = {"resolved_entity", "resolved_link", "enterprise", "advertisement"}
    plan = compile_plan(specs, as_of=AS_OF, available=tables)
    term_steps = [s for s in plan.steps if s.texts is not None]
    assert {s.name.rsplit("_", 1)[0] for s in term_steps} >= {
        "ind__terms_enterprise",
        "ind__terms_advertisement",
    }
    names = [*[t for t in _texts() if t is not None][:2000], None]
    con = duckdb.connect()
    for step in term_steps:
        source = step.name.removeprefix("ind__terms_").rsplit("_", 1)[0]
        rows = f"ind__rows_{source}"
        # A stand-in rows view with every column the text expression reads.
        columns = {c.name for c in step.texts.find_all(expr.exp.Column)}
        con.execute(f"DROP VIEW IF EXISTS {rows}")
        con.register("names", pa.table({"n": pa.array(names, pa.string())}))
        con.execute(
            f"CREATE VIEW {rows} AS SELECT "
            + ", ".join(
                f"[n, n] AS {c}" if c in ("former_names", "server_country") else f"n AS {c}"
                for c in sorted(columns)
            )
            + " FROM names"
        )
        sql = con.sql(step.sql(DIALECT)).to_arrow_table().sort_by(TEXT_COLUMN)
        texts = con.sql(step.texts_sql(DIALECT)).to_arrow_table().column(0)
        auto = TermMatcher(step.terms).hits(texts).sort_by(TEXT_COLUMN)
        assert auto.equals(sql.cast(auto.schema)), step.name
