"""Readers of real ownership data: ICIJ Offshore Leaks files and FollowTheMoney entities.

Three readers turn public ownership data into one shape, :class:`ExternalData` — a node
table and a raw edge table, ids prefixed by dataset (``icij-viz:51918``, ``ftm:NK-…``):

* :func:`read_icij_viz` — the 2016 "Power Players" export (``nodes.csv``/``edges.csv``: one
  row per node *per subgraph*, generic ``is officer of`` links, share counts on officer
  nodes);
* :func:`read_icij_bulk` — ICIJ's bulk-download layout (``Entities``, ``Officers``,
  ``Intermediaries``, ``Addresses`` and ``*edges*`` CSV files, ``rel_type`` link texts);
* :func:`read_ftm` — FollowTheMoney JSON lines (Company/Organization/LegalEntity/Person
  nodes, Ownership and Directorship edges, Address entities).

Nothing is dropped silently: link texts and FtM schemata the graph has no place for are
counted in ``not_represented``, edge ends no record describes become ``unknown`` nodes, and
a malformed value is an error naming file, row and field. What happens next — resolution,
shares, controllers — is :mod:`fengyan.graph.external_graph`; the rules are
``external.yaml`` and docs/graph.md ("Real ownership data") explains them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import duckdb
import orjson
import pyarrow as pa

from fengyan.graph.external_names import fold_text, load_rules, map_role, name_kind, split_former

NODE_SCHEMA: Final = pa.schema(
    [
        ("id", pa.string()),  # <dataset>:<source id>
        ("dataset", pa.string()),
        ("kind", pa.string()),  # enterprise | person | unknown
        ("name", pa.string()),
        ("names", pa.list_(pa.string())),  # every name and former name the source gives
        ("attrs", pa.list_(pa.string())),  # typed places and identifiers: "inn:123", "cc:ru"
        ("status", pa.string()),
        ("source_type", pa.string()),  # Company, Officer, Person …
    ]
)
RAW_EDGE_SCHEMA: Final = pa.schema(
    [
        ("src", pa.string()),
        ("dst", pa.string()),
        ("relation", pa.string()),  # shareholding|officer|intermediary|address|same_as
        ("percent", pa.float64()),  # stated share 0–1
        ("shares", pa.float64()),  # stated number of shares
        ("role", pa.string()),
        ("role_text", pa.string()),
        ("start", pa.date32()),
        ("end", pa.date32()),
        ("record", pa.string()),  # file:row or entity id it came from
    ]
)


@dataclass
class ExternalData:
    """One dataset read: nodes, raw edges (source ids), snapshot date and what was left out."""

    dataset: str
    nodes: pa.Table  # NODE_SCHEMA
    edges: pa.Table  # RAW_EDGE_SCHEMA
    as_of: date
    counts: dict[str, int] = field(default_factory=dict)
    not_represented: dict[str, int] = field(default_factory=dict)


def _names(main: str, extra: list[str]) -> list[str]:
    base, former = split_former(main)
    return list(dict.fromkeys([base, *former, *extra]))


def _csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, need: tuple[str, ...]) -> None:
    con.execute(
        f"""CREATE OR REPLACE TABLE "{table}" AS
            SELECT *, row_number() OVER () + 1 AS _row
            FROM read_csv(?, all_varchar = true, header = true)""",  # noqa: S608 - table name
        [str(path)],
    )
    have = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    missing = [c for c in need if c not in have]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    empty = f"nullif(trim({need[0]}), '') IS NULL"
    bad = one_value(con, f'SELECT min(_row) FROM "{table}" WHERE {empty}')  # noqa: S608
    if bad:
        raise ValueError(f"{path}: row {bad}: field {need[0]} is empty")


def one_value(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The single number a counting query returns."""
    rows = con.execute(sql).fetchall()
    return int(rows[0][0] or 0) if rows else 0


def _parse_date(value: str, formats: tuple[str, ...]) -> date | None:
    for fmt in formats:
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _dates(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> None:
    """Replace text dates by ``DATE`` columns; an unreadable one is an error naming the row."""
    formats = load_rules().icij.date_formats
    for col in columns:
        rows = con.execute(
            f'SELECT "{col}", min(_row), any_value(_file) FROM "{table}" '  # noqa: S608
            f"WHERE nullif(trim(\"{col}\"), '') IS NOT NULL GROUP BY 1"
        ).fetchall()
        parsed = {v: _parse_date(v, formats) for v, _, _ in rows}
        for value, row, file in rows:
            if parsed[value] is None:
                raise ValueError(f"{file}: row {row}: field {col}: cannot read date {value!r}")
        con.register(
            "_d",
            pa.table({"v": list(parsed), "d": pa.array(list(parsed.values()), pa.date32())}),
        )
        con.execute(
            f"""CREATE OR REPLACE TABLE "{table}" AS
                SELECT t.* REPLACE (d.d AS "{col}") FROM "{table}" t
                LEFT JOIN _d d ON d.v = t."{col}" """  # noqa: S608 - names from this module
        )


def _icij_nodes(con: duckdb.DuckDBPyConnection, dataset: str) -> pa.Table:
    """``raw_nodes(node_id, category, name, former, jur, country, status)`` → NODE_SCHEMA."""
    rows = con.sql(
        """SELECT node_id, category, name, former, jur, country, status FROM raw_nodes
           ORDER BY node_id"""
    ).fetchall()
    # Folding is per distinct name; the node table itself is built column-wise.
    kinds = {n: name_kind(n) for n in {r[2] for r in rows}}
    out: dict[str, list[Any]] = {f.name: [] for f in NODE_SCHEMA}
    for node_id, category, name, former, jur, country, status in rows:
        firm = category in ("Company", "Entity")
        out["id"].append(f"{dataset}:{node_id}")
        out["dataset"].append(dataset)
        out["kind"].append("enterprise" if firm and kinds[name] != "unknown" else kinds[name])
        out["name"].append(name)
        out["names"].append(_names(name, [former] if former else []))
        attrs = [f"icijjur:{fold_text(jur)}"] if jur else []
        attrs += [f"country:{fold_text(c)}" for c in (country or "").split(";") if c.strip()]
        out["attrs"].append(attrs)
        out["status"].append(status)
        out["source_type"].append(category)
    return pa.table(out, schema=NODE_SCHEMA)


def _icij_edges(con: duckdb.DuckDBPyConnection, dataset: str) -> tuple[pa.Table, Counter[str]]:
    """``raw_links(source, target, link, start, end, record)`` → RAW_EDGE_SCHEMA rows."""
    rules = load_rules().icij
    texts = [r[0] for r in con.sql("SELECT DISTINCT lower(trim(link)) FROM raw_links").fetchall()]
    known = {t: rules.links[t] for t in texts if t in rules.links}
    con.register(
        "links",
        pa.table(
            {
                "text": texts,
                "kind": [known[t].kind if t in known else "unmapped" for t in texts],
                "also": [known[t].also_officer if t in known else False for t in texts],
                "role": [map_role(t) for t in texts],
            }
        ),
    )
    addresses = [r[0] for r in con.sql("SELECT DISTINCT name FROM raw_addr").fetchall()]
    con.register("addr_keys", pa.table({"name": addresses, "key": [_addr(a) for a in addresses]}))
    p = f"'{dataset}:' || "
    e = con.sql(
        f"""
        WITH x AS (
            SELECT l.*, k.kind, k.also, k.role AS mapped, a.key AS addr, s.shares,
                   lower(trim(l.link)) AS text
            FROM raw_links l JOIN links k ON k.text = lower(trim(l.link))
            LEFT JOIN raw_nodes s ON s.node_id = l.source
            LEFT JOIN raw_addr r ON r.node_id = l.target
            LEFT JOIN addr_keys a ON a.name = r.name)
        SELECT {p}source AS src,
               CASE WHEN kind = 'address' THEN addr ELSE {p}target END AS dst,
               CASE WHEN kind = 'officer_or_shareholding' AND shares > 0 THEN 'shareholding'
                    WHEN kind IN ('officer_or_shareholding', 'unmapped') THEN 'officer'
                    ELSE kind END AS relation,
               NULL::DOUBLE AS percent,
               CASE WHEN kind IN ('shareholding', 'officer_or_shareholding') AND shares > 0
                    THEN shares END AS shares,
               CASE WHEN kind IN ('officer', 'officer_or_shareholding', 'unmapped')
                    THEN mapped END AS role,
               link AS role_text, "start", "end", record
        FROM x WHERE kind <> 'ignore' AND NOT (kind = 'address' AND addr IS NULL)
        UNION ALL
        SELECT {p}source, {p}target, 'officer', NULL, NULL, mapped, link, "start", "end", record
        FROM x WHERE also
        """  # noqa: S608 - dataset names come from this module's callers
    ).to_arrow_table()
    counts: Counter[str] = Counter()
    for text, kind, n in con.sql(
        """SELECT lower(trim(l.link)), k.kind, count(*) FROM raw_links l
           JOIN links k ON k.text = lower(trim(l.link)) GROUP BY ALL"""
    ).fetchall():
        if kind in ("ignore", "unmapped"):
            counts[f"link {kind}: {text}"] += n
    return e.cast(RAW_EDGE_SCHEMA), counts


def _addr(text: str) -> str:
    return "addr:~" + fold_text(text.replace("<br/>", " "), " ")


def _icij_finish(
    con: duckdb.DuckDBPyConnection, dataset: str, counts: dict[str, int]
) -> ExternalData:
    """Shared tail of both ICIJ readers: dangling ends, nodes, edges, counts."""
    con.execute(
        """CREATE OR REPLACE TABLE dangling AS
           SELECT DISTINCT id FROM (SELECT source AS id FROM raw_links UNION ALL
                                    SELECT target FROM raw_links l WHERE NOT EXISTS
                                    (SELECT 1 FROM raw_addr a WHERE a.node_id = l.target))
           WHERE id NOT IN (SELECT node_id FROM raw_nodes)"""
    )
    con.execute(
        """INSERT INTO raw_nodes (node_id, category, name)
           SELECT id, 'Unknown', 'unknown ' || id FROM dangling"""
    )
    nodes = _icij_nodes(con, dataset)
    edges, ignored = _icij_edges(con, dataset)
    counts["dangling_ends"] = one_value(con, "SELECT count(*) FROM dangling")
    counts["nodes"], counts["edges"] = nodes.num_rows, edges.num_rows
    return ExternalData(dataset, nodes, edges, load_rules().icij.as_of, counts, dict(ignored))


def _same_everywhere(con: duckdb.DuckDBPyConnection, table: str, key: str, path: Path) -> None:
    """A record repeated across subgraphs must repeat unchanged; else name the two rows."""
    cols = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
    body = ", ".join(f'"{c}"' for c in cols if c not in ("subgraph", "_row"))
    clash = con.execute(
        f"""SELECT {key}, list(_row ORDER BY _row)[1:2] FROM
            (SELECT {key}, min(_row) AS _row FROM "{table}" GROUP BY {body})
            GROUP BY {key} HAVING count(*) > 1 LIMIT 1"""  # noqa: S608 - names from DESCRIBE
    ).fetchall()
    if clash:
        raise ValueError(f"{path}: rows {clash[0][1]}: {key} {clash[0][0]} differs between rows")


def read_icij_viz(folder: Path, dataset: str = "icij-viz") -> ExternalData:
    """The Power Players export: ``nodes.csv`` and ``edges.csv`` (one row per subgraph).

    A node or edge repeated across subgraphs is one record; the same id with different
    attributes is an error naming both rows.
    """
    con = duckdb.connect()
    try:
        nodes, edges = folder / "nodes.csv", folder / "edges.csv"
        node_cols = ("node_id", "subgraph", "category", "name", "jurisdiction", "country")
        _csv(con, nodes, "n", (*node_cols, "status", "number_of_shares", "former_name", "address"))
        edge_cols = ("edge_id", "subgraph", "type", "source", "target")
        _csv(con, edges, "e", (*edge_cols, "date_start", "date_end"))
        for table, key, path in (("n", "node_id", nodes), ("e", "edge_id", edges)):
            _same_everywhere(con, table, key, path)
        bad = one_value(
            con,
            """SELECT min(_row) FROM n WHERE number_of_shares IS NOT NULL
               AND try_cast(replace(number_of_shares, ',', '') AS DOUBLE) IS NULL""",
        )
        if bad:
            raise ValueError(f"{nodes}: row {bad}: field number_of_shares is not a number")
        con.execute(
            """CREATE TABLE raw_nodes AS SELECT DISTINCT ON (node_id) node_id, category, name,
                      former_name AS former, jurisdiction AS jur, country, status,
                      try_cast(replace(number_of_shares, ',', '') AS DOUBLE) AS shares
               FROM n WHERE category <> 'Address' ORDER BY node_id, _row;
               CREATE TABLE raw_addr AS SELECT DISTINCT node_id, name FROM n
               WHERE category = 'Address';
               -- An officer's or client's address written on the node itself.
               CREATE TABLE node_addr AS SELECT node_id, any_value(address) AS address,
                      min(_row) AS _row FROM n
               WHERE category <> 'Address' AND nullif(trim(address), '') IS NOT NULL
               GROUP BY node_id;
               INSERT INTO raw_addr SELECT 'txt:' || node_id, address FROM node_addr;"""
        )
        con.execute(
            f"""CREATE TABLE raw_links AS SELECT DISTINCT ON (edge_id) source, target,
                       type AS link, date_start AS "start", date_end AS "end",
                       'edges.csv:' || _row AS record, _row, '{edges}' AS _file
                FROM e ORDER BY edge_id, _row;
                INSERT INTO raw_links SELECT node_id, 'txt:' || node_id, 'registered address',
                       NULL, NULL, 'nodes.csv:' || _row, _row, '{nodes}' FROM node_addr"""  # noqa: S608
        )
        _dates(con, "raw_links", ("start", "end"))
        counts = {
            "node_rows": one_value(con, "SELECT count(*) FROM n"),
            "edge_rows": one_value(con, "SELECT count(*) FROM e"),
            "subgraphs": one_value(con, "SELECT count(DISTINCT subgraph) FROM n"),
            "address_nodes": one_value(
                con, "SELECT count(DISTINCT node_id) FROM n WHERE category = 'Address'"
            ),
            "node_addresses": one_value(con, "SELECT count(*) FROM node_addr"),
        }
        return _icij_finish(con, dataset, counts)
    finally:
        con.close()


def read_icij_bulk(folder: Path, dataset: str = "icij-bulk") -> ExternalData:
    """ICIJ's bulk-download layout: ``Entities*``, ``Officers*``, ``Intermediaries*``,
    ``Addresses*`` node files and an ``*edges*`` file (``node_1, rel_type, node_2``).

    Entities are firms; officers and intermediaries are firms or persons by their name
    (:func:`name_kind`); an entity's or intermediary's ``address`` text is an address link.
    """
    con = duckdb.connect()
    try:
        parts: list[str] = []
        counts: dict[str, int] = {}
        files = {
            "Entity": sorted(folder.glob("Entities*.csv")),
            "Officer": sorted(folder.glob("Officers*.csv")),
            "Intermediary": sorted(folder.glob("Intermediaries*.csv")),
            "Address": sorted(folder.glob("Addresses*.csv")),
        }
        edge_files = sorted(folder.glob("*edges*.csv"))
        if not files["Entity"] or not edge_files:
            raise ValueError(f"{folder}: no Entities*.csv or *edges*.csv file")
        for category, paths in files.items():
            for i, path in enumerate(paths):
                table = f"{category}{i}"
                need = ("node_id", "address") if category == "Address" else ("node_id", "name")
                _csv(con, path, table, need)
                have = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}

                def col(name: str, have: set[str] = have) -> str:
                    return f'"{name}"' if name in have else "NULL"

                name = "address" if category == "Address" else "name"
                parts.append(
                    f"""SELECT node_id, '{category}' AS category, "{name}" AS name,
                               {col("former_name")} AS former, {col("jurisdiction")} AS jur,
                               {col("countries")} AS country, {col("status")} AS status,
                               NULL::DOUBLE AS shares, {col("address")} AS address,
                               _row, '{path.name}' AS _file, {len(parts)} AS _order
                        FROM "{table}" """  # noqa: S608 - names from this function
                )
                rows = one_value(con, f'SELECT count(*) FROM "{table}"')  # noqa: S608
                counts[f"rows {path.name}"] = rows
        con.execute(f"CREATE TABLE allnodes AS {' UNION ALL '.join(parts)}")
        con.execute(
            """CREATE TABLE raw_nodes AS SELECT DISTINCT ON (node_id) * EXCLUDE (address)
               FROM allnodes WHERE category <> 'Address' ORDER BY node_id, _order, _row;
               CREATE TABLE raw_addr AS
               SELECT node_id, name FROM allnodes WHERE category = 'Address'
               UNION ALL SELECT 'txt:' || node_id, address FROM allnodes
               WHERE category IN ('Entity', 'Intermediary')
                 AND nullif(trim(address), '') IS NOT NULL"""
        )
        links = []
        for i, path in enumerate(edge_files):
            table = f"edges{i}"
            _csv(con, path, table, ("node_1", "rel_type", "node_2", "start_date", "end_date"))
            links.append(
                f"""SELECT node_1 AS source, node_2 AS target, rel_type AS link,
                           start_date AS "start", end_date AS "end",
                           '{path.name}:' || _row AS record, _row, '{path}' AS _file
                    FROM "{table}" """  # noqa: S608 - a path
            )
        links.append(
            """SELECT node_id, 'txt:' || node_id, 'registered address', NULL, NULL,
                      _file || ':' || _row, _row, _file FROM allnodes
               WHERE category IN ('Entity', 'Intermediary')
                 AND nullif(trim(address), '') IS NOT NULL"""
        )
        con.execute(f"CREATE TABLE raw_links AS {' UNION ALL '.join(links)}")
        _dates(con, "raw_links", ("start", "end"))
        counts["node_rows"] = one_value(con, "SELECT count(*) FROM allnodes")
        counts["edge_rows"] = sum(
            one_value(con, f'SELECT count(*) FROM "edges{i}"')  # noqa: S608
            for i in range(len(edge_files))
        )
        return _icij_finish(con, dataset, counts)
    finally:
        con.close()


def _ftm_date(value: str, where: str) -> date:
    text = value.strip()
    try:
        if len(text) == 4:
            return date(int(text), 1, 1)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ValueError(f"{where}: cannot read date {value!r}") from exc


def _ftm_number(value: str, where: str, top: float | None = None) -> float:
    try:
        number = float(value.replace(",", "").strip())
    except ValueError as exc:
        raise ValueError(f"{where}: not a number: {value!r}") from exc
    if number < 0 or (top is not None and number > top):
        raise ValueError(f"{where}: {value!r} is out of range")
    return number


def _ftm_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    entities = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                entity = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {number}: not JSON ({exc})") from exc
            if not isinstance(entity, dict) or "id" not in entity or "schema" not in entity:
                raise ValueError(f"{path}: line {number}: an entity needs id and schema")
            entities.append((number, entity))
    return entities


class _Rows:
    """Column lists filled one record at a time (FtM entities are parsed one by one)."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.columns: dict[str, list[Any]] = {name: [] for name in schema.names}

    def add(self, **values: Any) -> None:
        for name, column in self.columns.items():
            column.append(values.get(name))

    def table(self) -> pa.Table:
        return pa.table(self.columns, schema=self.schema)


def _props(entity: dict[str, Any]) -> dict[str, list[str]]:
    """Property values as lists of strings (some exports write a lone value as a scalar)."""
    raw = entity.get("properties") or {}
    return {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in raw.items()}


def _ftm_period(props: dict[str, list[str]], where: str) -> dict[str, date | None]:
    start = [_ftm_date(v, f"{where}: startDate") for v in props.get("startDate") or ()]
    end = [_ftm_date(v, f"{where}: endDate") for v in props.get("endDate") or ()]
    return {"start": min(start) if start else None, "end": max(end) if end else None}


def _ftm_attrs(props: dict[str, list[str]], kind: str) -> list[str]:
    """Typed attributes: ISO country codes (``cc:``) and strong identifiers (``inn:`` …)."""
    strong = load_rules().resolution.strong_ids
    places = ["jurisdiction", "country"] + (
        ["nationality", "citizenship"] if kind == "person" else []
    )
    cc = {f"cc:{v.lower()}" for p in places for v in props.get(p) or ()}
    born = {
        f"born:{v[:4]}" for p in load_rules().resolution.birth_years for v in props.get(p) or ()
    }
    ids = {f"{strong[p]}:{fold_text(v)}" for p in strong for v in props.get(p) or ()}
    return sorted(cc | born | ids)


def read_ftm(path: Path, dataset: str = "ftm") -> ExternalData:
    """FollowTheMoney JSON lines: nodes, Ownership/Directorship edges, Address entities.

    Ids are OpenSanctions ids, shared by every export: the same id in two files is one
    entity. ``referents`` (ids merged into an entity by OpenSanctions) are honoured when an
    edge names one. Schemata the graph cannot hold are counted in ``not_represented``.
    """
    ftm = load_rules().ftm
    entities = _ftm_lines(path)
    known = {e["id"] for _, e in entities}
    alias = {r: e["id"] for _, e in entities for r in e.get("referents") or ()}

    def ref(raw: str) -> str:
        return f"{dataset}:{alias.get(raw, raw)}"

    addresses = {
        e["id"]: _addr(
            ((e.get("properties") or {}).get("full") or [e.get("caption") or e["id"]])[0]
        )
        for _, e in entities
        if e["schema"] == ftm.address
    }
    nodes, edges, skipped = _Rows(NODE_SCHEMA), _Rows(RAW_EDGE_SCHEMA), Counter[str]()
    for number, e in entities:
        schema, props, where = e["schema"], _props(e), f"{path}: line {number}"
        if schema in ftm.nodes:
            kind, node_id = ftm.nodes[schema], f"{dataset}:{e['id']}"
            names = list(props.get("name") or [e.get("caption") or e["id"]])
            nodes.add(
                id=node_id, dataset=dataset, kind=kind, name=e.get("caption") or names[0],
                names=list(dict.fromkeys(names + list(props.get("previousName") or ()))),
                attrs=_ftm_attrs(props, kind), source_type=schema,
                status=";".join(props.get("status") or ()) or None,
            )  # fmt: skip
            keys = {addresses[a] for a in props.get("addressEntity") or () if a in addresses}
            for key in sorted(keys | {_addr(t) for t in props.get("address") or ()}):
                edges.add(src=node_id, dst=key, relation="address", record=e["id"])
        elif schema == ftm.ownership:
            pct = [
                _ftm_number(v, f"{where}: percentage", 100) for v in props.get("percentage") or ()
            ]
            cnt = [_ftm_number(v, f"{where}: sharesCount") for v in props.get("sharesCount") or ()]
            text = ";".join(props.get("role") or ()) or None
            for owner in props.get("owner") or ():
                for asset in props.get("asset") or ():
                    edges.add(
                        src=ref(owner), dst=ref(asset), relation="shareholding", record=e["id"],
                        percent=pct[0] / 100 if pct else None, shares=cnt[0] if cnt else None,
                        role_text=text, **_ftm_period(props, where),
                    )  # fmt: skip
        elif schema == ftm.directorship:
            text = ";".join(props.get("role") or ()) or None
            for person in props.get("director") or ():
                for org in props.get("organization") or ():
                    edges.add(
                        src=ref(person), dst=ref(org), relation="officer", record=e["id"],
                        role=map_role(text), role_text=text, **_ftm_period(props, where),
                    )  # fmt: skip
        elif schema != ftm.address:
            skipped[schema] += 1
    # Ends that no entity of the file describes stay as unknown nodes (never dropped).
    table = edges.table()
    ends = set(table["src"].to_pylist()) | set(table["dst"].to_pylist())
    dangling = sorted(
        x for x in ends if not x.startswith("addr:") and x.split(":", 1)[1] not in known
    )
    for node_id in dangling:
        raw = node_id.split(":", 1)[1]
        nodes.add(id=node_id, dataset=dataset, kind="unknown", name=raw, names=[raw], attrs=[],
                  source_type="Unknown")  # fmt: skip
    seen = [e["last_seen"] for _, e in entities if e.get("last_seen")]
    as_of = max(_ftm_date(s, f"{path}: last_seen") for s in seen) if seen else date.today()
    counts = {"entities": len(entities), "dangling_ends": len(dangling)}
    counts |= {f"schema {k}": v for k, v in Counter(e["schema"] for _, e in entities).items()}
    return ExternalData(dataset, nodes.table(), table, as_of, counts, dict(skipped))


def read_path(path: Path) -> ExternalData:
    """Any of the readers, chosen by what ``path`` holds."""
    if path.is_file() and path.name.endswith((".jsonl", ".json")):
        return read_ftm(path)
    if (path / "nodes.csv").exists():
        return read_icij_viz(path)
    return read_icij_bulk(path)
