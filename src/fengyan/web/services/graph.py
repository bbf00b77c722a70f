"""A firm's graph neighbourhood (关系图谱) for the interactive view: 1–2 hops, capped.

Breadth-first over ``graph_edge`` in both directions. A node tied to more than
``max_fanout`` others (a registration agent's phone, a business centre) is drawn but not
expanded — it would flood the view and says "cluster", not "relation" — and the whole
view stops at ``max_nodes``. Persons' names, phones and e-mails are masked for the role;
firms outside the reader's jurisdiction are shown without their name.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengyan.arrays import distinct
from fengyan.db.published import FirmScore
from fengyan.web.masking import mask_kind
from fengyan.web.scope import Principal, in_scope
from fengyan.web.services.config import service_settings
from fengyan.web.services.firms import visible_firm
from fengyan.web.services.lakecache import LakeCache

# Node id prefix → node kind (graph_edge ids: docs/graph.md).
KINDS = {
    "ent": "enterprise",
    "per": "person",
    "addr": "address",
    "phone": "phone",
    "email": "email",
    "domain": "domain",
    "ip": "server_ip",
    "unk": "unknown",
}
MASK_KIND = {"phone": "phone", "email": "email"}


class Node(BaseModel):
    """A node of the view."""

    id: str
    kind: str
    label: str
    grade: str | None = None
    hop: int
    expanded: bool
    link: bool = False  # the firm's profile can be opened


class Edge(BaseModel):
    """An edge of the view."""

    source: str
    target: str
    relation: str
    share: float | None = None
    role: str | None = None


class Neighbourhood(BaseModel):
    """The nodes and edges around a firm."""

    center: str
    hops: int
    nodes: list[Node]
    edges: list[Edge]
    truncated: bool
    personal_shown: bool


def _opaque(principal: Principal, node: str) -> str:
    """Phone and e-mail nodes carry the value in their id: give others an opaque id."""
    prefix, _, rest = node.partition(":")
    if prefix in MASK_KIND and principal.masking != "none":
        return f"{prefix}:{hashlib.sha256(rest.encode()).hexdigest()[:12]}"
    return node


def _edges_of(cache: LakeCache, ids: list[str]) -> list[dict[str, Any]]:
    """Edges from or to any of ``ids``, each once, in the lake copy's order."""
    by_src, by_dst = cache.index("edge_src"), cache.index("edge_dst")
    if by_src is None or by_dst is None:
        return []
    rows = distinct(np.concatenate([by_src.positions(ids), by_dst.positions(ids)]))
    found: list[dict[str, Any]] = by_src.table.take(pa.array(rows)).to_pylist()
    return found


def neighbourhood(
    session: Session, cache: LakeCache, principal: Principal, firm_id: str, hops: int, model: str
) -> Neighbourhood:
    """Nodes within ``hops`` of the firm (404 if the firm is not visible)."""
    visible_firm(session, cache, principal, firm_id)
    cfg = service_settings().profile.graph
    hops = max(1, min(hops, cfg.max_hops))
    if cache.index("edge_src") is None:
        return Neighbourhood(
            center=firm_id, hops=hops, nodes=[], edges=[], truncated=False, personal_shown=False
        )
    hop_of: dict[str, int] = {firm_id: 0}
    expanded: set[str] = set()
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    frontier = [firm_id]
    truncated = False
    for hop in range(1, hops + 1):
        if not frontier:
            break
        found = _edges_of(cache, frontier)
        degree: dict[str, int] = {}
        for e in found:
            for n in (e["src"], e["dst"]):
                degree[n] = degree.get(n, 0) + 1
        # Hubs are drawn but not followed.
        expand = [n for n in frontier if degree.get(n, 0) <= cfg.max_fanout or n == firm_id]
        expanded |= set(expand)
        nxt: list[str] = []
        for e in found:
            if e["src"] not in expand and e["dst"] not in expand:
                continue
            for n in (e["src"], e["dst"]):
                if n not in hop_of:
                    if len(hop_of) >= cfg.max_nodes:
                        truncated = True
                        continue
                    hop_of[n] = hop
                    nxt.append(n)
            if e["src"] in hop_of and e["dst"] in hop_of:
                edges[(e["src"], e["dst"], e["relation"])] = e
        frontier = nxt
    ids = sorted(hop_of)
    entities = cache.index("entity")
    names = {r["canonical_id"]: r for r in entities.many(ids)} if entities is not None else {}
    grades = dict(
        session.execute(
            select(FirmScore.firm_id, FirmScore.grade).where(
                FirmScore.model == model,
                FirmScore.firm_id.in_([i for i in ids if i.startswith("ent:")]),
            )
        ).all()
    )
    alias = {n: _opaque(principal, n) for n in ids}
    nodes, personal = [], False
    for node in ids:
        prefix, _, rest = node.partition(":")
        kind = KINDS.get(prefix, "other")
        info = names.get(node, {})
        label: str | None = rest
        link = False
        if kind == "enterprise":
            if in_scope(principal, info.get("region_code")):
                label, link = info.get("name") or rest, True
            else:
                label = None  # another jurisdiction's firm: shown as a node, not named
        elif kind == "person":
            label = mask_kind(principal, "name", info.get("name"))
            personal = personal or label is not None
        elif kind in MASK_KIND:
            label = mask_kind(principal, MASK_KIND[kind], rest)
            personal = personal or label is not None
        elif kind == "address":
            label = rest.replace("|", " ")
        nodes.append(
            Node(
                id=alias[node],
                kind=kind,
                label=label or "—",
                grade=grades.get(node),
                hop=hop_of[node],
                expanded=node in expanded,
                link=link,
            )
        )
    return Neighbourhood(
        center=firm_id,
        hops=hops,
        nodes=nodes,
        edges=[
            Edge(
                source=alias[e["src"]],
                target=alias[e["dst"]],
                relation=e["relation"],
                share=e["share"],
                role=e["role"],
            )
            for e in edges.values()
        ],
        truncated=truncated,
        personal_shown=personal,
    )
