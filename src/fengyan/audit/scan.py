"""Reading the log back and recomputing its leaf hashes — in one process, or two.

The cost of verifying is mostly CPython building row objects and hashing, one entry at a
time (about 4.5 µs of CPU per entry here). From :data:`PARALLEL_FROM` entries on, on a
machine with more than one core, the rows are split at ``k`` — the largest power of two
below the number of entries — and two forked processes each read, re-serialise and hash
their part and build the Merkle subtrees lying inside it. Because ``k`` is a power of two,
every perfect subtree a checkpoint's root is made of lies wholly inside one part (the left
part is itself one perfect subtree; only the root of exactly ``2k`` entries spans both
and is joined from the two), so the parent only folds a few dozen hashes.

The processes read through the database driver directly (not SQLAlchemy rows): plain
tuples are cheaper, and PostgreSQL streams them through a server-side cursor.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from fengyan.audit.canonical import row_leaf_hashes
from fengyan.audit.merkle import collect_nodes, join_split, split_needed

PARALLEL_FROM = 200_000
MAX_LISTED = 10  # edited entries named one by one; the rest are counted
_COLUMNS = "seq, at, actor, action, target, detail, leaf_hash"


@dataclass
class Scan:
    """What reading (part of) the log found."""

    count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)  # first, last missing seq
    unexpected: list[int] = field(default_factory=list)  # sequence numbers below 1
    edited: list[int] = field(default_factory=list)  # the first MAX_LISTED
    edited_total: int = 0
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    cpu_seconds: list[float] = field(default_factory=list)  # per process, for the benchmark


def _sql(dialect: str, part: int | None) -> str:
    """The row query for the whole log (None), its first ``k`` rows (0) or the rest (1)."""
    if dialect == "postgresql":
        bound, limit, offset = "%(max)s", "LIMIT %(k)s", "OFFSET %(k)s"
    else:
        bound, limit, offset = ":max", "LIMIT :k", "LIMIT -1 OFFSET :k"
    tail = {None: "", 0: limit, 1: offset}[part]
    # Bounded by the parent's snapshot: entries appended meanwhile are not looked at.
    return f"SELECT {_COLUMNS} FROM audit_entry WHERE seq <= {bound} ORDER BY seq {tail}"  # noqa: S608


def _batches(conn: Connection, sql: str, params: dict[str, int], chunk: int) -> Iterator[list[Any]]:
    """Row tuples in batches of ``chunk``, straight from the driver, in the open transaction."""
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = raw.cursor(name="fengyan_audit_scan")  # server-side: memory stays flat
        cursor.itersize = chunk
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk):
            yield batch
    finally:
        cursor.close()


def scan_rows(
    batches: Iterator[list[Any]],
    offset: int,
    first_expected: int | None,
    needed: set[tuple[int, int]],
) -> Scan:
    """Recompute the leaves of consecutive rows; note gaps and edited entries; build nodes.

    ``offset`` is the leaf index of the first row; ``first_expected`` the sequence number
    it should have (None: whatever it has — the parent checks the seam between parts).
    """
    started = time.process_time()
    scan = Scan()
    leaves: list[bytes] = []
    expected = first_expected
    for part in batches:
        seqs = [r[0] for r in part]
        if expected is None:
            expected = seqs[0]
        if scan.first_seq is None:
            scan.first_seq = seqs[0]
        if seqs != list(range(expected, expected + len(seqs))):
            for seq in seqs:
                if seq < 1:
                    scan.unexpected.append(seq)
                    continue
                if seq != expected:
                    scan.gaps.append((expected, seq - 1))
                expected = seq + 1
        else:
            expected += len(seqs)
        computed = row_leaf_hashes(part)
        if computed != [r[6] for r in part]:
            for row, digest in zip(part, computed, strict=True):
                if digest != row[6]:
                    scan.edited_total += 1
                    if len(scan.edited) < MAX_LISTED:
                        scan.edited.append(row[0])
        leaves.extend(computed)
        scan.count += len(part)
        scan.last_seq = seqs[-1]
    scan.nodes = collect_nodes(leaves, offset, needed)
    scan.cpu_seconds = [time.process_time() - started]
    return scan


def _worker(
    url: str, part: int, k: int, max_seq: int, needed: set[tuple[int, int]], chunk: int
) -> Scan:
    """One half of a parallel scan, in a forked process with a connection of its own."""
    from fengyan.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            sql = _sql(conn.dialect.name, part)
            rows = _batches(conn, sql, {"max": max_seq, "k": k}, chunk)
            return scan_rows(rows, 0 if part == 0 else k, 1 if part == 0 else None, needed)
    finally:
        engine.dispose()


def _merge(left: Scan, right: Scan) -> Scan:
    seam: list[tuple[int, int]] = []
    if (
        left.last_seq is not None
        and right.first_seq is not None
        and right.first_seq != left.last_seq + 1
    ):
        seam = [(left.last_seq + 1, right.first_seq - 1)]
    return Scan(
        count=left.count + right.count,
        first_seq=left.first_seq,
        last_seq=right.last_seq if right.last_seq is not None else left.last_seq,
        gaps=left.gaps + seam + right.gaps,
        unexpected=left.unexpected + right.unexpected,
        edited=(left.edited + right.edited)[:MAX_LISTED],
        edited_total=left.edited_total + right.edited_total,
        nodes=left.nodes | right.nodes,
        cpu_seconds=left.cpu_seconds + right.cpu_seconds,
    )


def scan_log(
    conn: Connection,
    url: str,
    total: int,
    max_seq: int,
    needed: set[tuple[int, int]],
    chunk: int = 100_000,
    processes: int | None = None,
) -> Scan:
    """Scan the ``total`` entries with ``seq <= max_seq``; in two processes when worth it."""
    processes = processes if processes is not None else min(2, os.cpu_count() or 1)
    parallel = (
        processes > 1
        and total >= PARALLEL_FROM
        and "fork" in multiprocessing.get_all_start_methods()
    )
    if not parallel:
        rows = _batches(conn, _sql(conn.dialect.name, None), {"max": max_seq}, chunk)
        return scan_rows(rows, 0, 1, needed)
    k = 1 << ((total - 1).bit_length() - 1)
    # fork: the children start at once with everything imported; they open their own
    # connections and never touch the parent's.
    work, spanning = split_needed(needed, k)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        parts = [pool.submit(_worker, url, part, k, max_seq, work, chunk) for part in (0, 1)]
        left, right = (p.result() for p in parts)
    merged = _merge(left, right)
    if merged.count == total:  # else rows vanished meanwhile, and verify says so
        join_split(merged.nodes, spanning)
    return merged
