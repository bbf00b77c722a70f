"""``verify``: recompute the tree from the table and hold it to every signed checkpoint.

What is checked, and what each check catches:

1. sequence numbers run 1, 2, 3 … without a gap — a deleted entry in the middle;
2. each entry's leaf hash, recomputed from its columns, equals the stored one — an edited
   or reordered entry whose stored hash was left alone (named exactly);
3. the counter row agrees with the table — last entries deleted behind its back;
4. every checkpoint (exported files and database rows) is signed by a key of the keyring
   in the export folder — a forged database checkpoint;
5. for every valid checkpoint of size m: the log still has m entries (else the last ones
   were deleted) and the root of its first m entries, recomputed, equals the signed root —
   which catches everything above even when the attacker recomputed the stored hashes and
   the database's own checkpoints: edits, reorderings, insertions, a rebuilt log.

When only a root disagrees, the first bad entry lies after the largest checkpoint that
still matches and at or before the smallest that does not; the report gives that range.
Entries appended after the last checkpoint are vouched for by nothing yet (an "info").
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from fengyan.audit.canonical import time_text
from fengyan.audit.checkpoint import Checkpoint, export, read_exported, sign
from fengyan.audit.config import AuditSettings
from fengyan.audit.errors import AuditError, Finding
from fengyan.audit.keys import export_public_key, load_key, load_keyring
from fengyan.audit.merkle import EMPTY_ROOT, fold_prefix, needed_nodes
from fengyan.audit.scan import MAX_LISTED, Scan, scan_log
from fengyan.clock import now
from fengyan.db.audit import AuditCheckpointRow

_CHECKPOINTS = (
    "SELECT id, origin, tree_size, root_hash, at, key_id, signature "
    "FROM audit_checkpoint ORDER BY id"
)


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """One checkpoint examined by verify: where it came from and what became of it."""

    source: str
    tree_size: int
    root_hash: bytes
    status: str  # "ok" or the code of the finding it raised


@dataclass
class VerifyReport:
    """What ``verify`` found."""

    tree_size: int
    root_hash: bytes
    findings: list[Finding] = field(default_factory=list)
    anchors: list[AnchorCheck] = field(default_factory=list)
    anchored_size: int = 0
    first_bad: int | None = None
    first_bad_upto: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: list[float] = field(default_factory=list)  # CPU of each scanning process

    @property
    def ok(self) -> bool:
        """No error: the log is what its checkpoints say it was."""
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        """The findings of tampering (or of unreadable anchors)."""
        return [f for f in self.findings if f.severity == "error"]


def _db_checkpoints(conn: Connection) -> list[tuple[str, Checkpoint]]:
    found = []
    for cid, origin, size, root, at, kid, signature in conn.exec_driver_sql(_CHECKPOINTS):
        source = f"audit_checkpoint#{cid}"
        try:
            sig = base64.b64decode(signature, validate=True)
        except (ValueError, binascii.Error):
            sig = b""
        found.append((source, Checkpoint(origin, int(size), bytes(root), at, kid, sig)))
    return found


def _scan_findings(scan: Scan, report: VerifyReport) -> set[int]:
    """Findings about single entries; returns the sequence numbers known to be bad."""
    exact: set[int] = set()
    for seq in scan.unexpected:
        report.findings.append(Finding("error", "audit_entry_unexpected", {"seq": seq}, seq))
        exact.add(seq)
    for first, last in scan.gaps:
        report.findings.append(
            Finding("error", "audit_entry_missing", {"first": first, "last": last}, first)
        )
        exact.add(first)
    for seq in scan.edited:
        report.findings.append(Finding("error", "audit_entry_edited", {"seq": seq}, seq))
        exact.add(seq)
    if scan.edited_total > MAX_LISTED:
        report.findings.append(
            Finding("error", "audit_entries_edited_more", {"more": scan.edited_total - MAX_LISTED})
        )
    return exact


def verify_log(
    engine: Engine,
    settings: AuditSettings,
    checkpoint_dir: Path | None = None,
    chunk: int = 100_000,
    processes: int | None = None,
) -> VerifyReport:
    """Check the whole log against the checkpoints in ``checkpoint_dir`` and the database.

    ``processes``: how many processes recompute the leaves (default: two when the machine
    has two cores and the log at least ``scan.PARALLEL_FROM`` entries).
    """
    folder = checkpoint_dir or settings.checkpoint_dir
    clock = time.perf_counter()
    report = VerifyReport(0, EMPTY_ROOT)
    keys, key_findings = load_keyring(folder)
    exported, file_findings = read_exported(folder)
    report.findings += key_findings + file_findings
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        # One snapshot for the entries, the counter and the checkpoints.
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    with conn:
        total, max_seq = conn.exec_driver_sql("SELECT count(*), max(seq) FROM audit_entry").one()
        head = conn.exec_driver_sql("SELECT size FROM audit_head WHERE id = 1").scalar()
        in_db = _db_checkpoints(conn)
        if not keys and in_db:
            # Without a keyring nothing can vouch for the database's checkpoints; say so
            # once instead of calling each one forged.
            report.findings.append(Finding("warning", "audit_no_keyring", {"dir": folder}))
            in_db = []
        valid: list[tuple[str, Checkpoint]] = []
        for source, cp in [*exported, *in_db]:
            problem = cp.check(keys, settings.origin)
            if problem is None:
                valid.append((source, cp))
                continue
            report.findings.append(
                Finding(
                    "error", problem, {"source": source, "size": cp.tree_size, "key": cp.key_id}
                )
            )
            report.anchors.append(AnchorCheck(source, cp.tree_size, cp.root_hash, problem))
        size = report.tree_size = int(total)
        sizes = {size, *(cp.tree_size for _, cp in valid if cp.tree_size <= size)}
        url = engine.url.render_as_string(hide_password=False)
        scan = scan_log(conn, url, size, int(max_seq or 0), needed_nodes(sizes), chunk, processes)
    report.seconds["scan"] = time.perf_counter() - clock
    report.cpu_seconds = scan.cpu_seconds

    clock = time.perf_counter()
    exact = _scan_findings(scan, report)
    if head != size:
        report.findings.append(
            Finding("error", "audit_head_mismatch", {"head": head, "entries": size})
        )
        if head is not None and head > size:
            exact.add(size + 1)
    if scan.count != size:
        # Rows went missing between the count and the read: someone is deleting right now.
        report.findings.append(
            Finding("error", "audit_log_moved", {"count": scan.count, "entries": size})
        )
        return report
    roots = {s: fold_prefix(s, scan.nodes) for s in sizes}
    report.root_hash = roots[size]
    good_sizes = sorted(
        cp.tree_size
        for _, cp in valid
        if cp.tree_size <= size and roots[cp.tree_size] == cp.root_hash
    )
    ranges: list[tuple[int, int]] = []
    for source, cp in sorted(valid, key=lambda v: v[1].tree_size):
        if cp.tree_size > size:
            status = "audit_log_shorter"
            report.findings.append(
                Finding("error", status,
                        {"source": source, "size": cp.tree_size, "entries": size,
                         "first": size + 1}, size + 1)
            )  # fmt: skip
            exact.add(size + 1)
        elif roots[cp.tree_size] != cp.root_hash:
            status = "audit_root_mismatch"
            low = max((s for s in good_sizes if s < cp.tree_size), default=0) + 1
            ranges.append((low, cp.tree_size))
            report.findings.append(
                Finding("error", status,
                        {"source": source, "size": cp.tree_size, "first": low,
                         "last": cp.tree_size}, low)
            )  # fmt: skip
        else:
            status = "ok"
        report.anchors.append(AnchorCheck(source, cp.tree_size, cp.root_hash, status))
    report.anchored_size = max(good_sizes, default=0)

    first_exact = min(exact, default=None)
    first_range = min(ranges, key=lambda r: r[1], default=None)
    if first_exact is not None and (first_range is None or first_exact <= first_range[1]):
        report.first_bad = first_exact
    elif first_range is not None:
        report.first_bad, report.first_bad_upto = first_range

    if not exported:
        report.findings.append(Finding("warning", "audit_no_exported_checkpoints", {"dir": folder}))
    elif os.access(folder, os.W_OK):
        report.findings.append(Finding("warning", "audit_checkpoint_dir_writable", {"dir": folder}))
    if report.ok and size > report.anchored_size:
        report.findings.append(
            Finding("info", "audit_unanchored",
                    {"count": size - report.anchored_size, "first": report.anchored_size + 1})
        )  # fmt: skip
    report.seconds["check"] = time.perf_counter() - clock
    return report


def create_checkpoint(
    engine: Engine, settings: AuditSettings, checkpoint_dir: Path | None = None
) -> tuple[Checkpoint, Path, VerifyReport]:
    """Verify the log, then sign its current root, export the checkpoint and record it.

    Refuses (``AuditError``) when verify finds tampering: signing would bless it. The
    file is written before the row, so a crash leaves at worst a file without its row.
    """
    folder = checkpoint_dir or settings.checkpoint_dir
    report = verify_log(engine, settings, folder)
    if not report.ok:
        raise AuditError("audit_checkpoint_refused", errors=len(report.errors))
    key = load_key(settings.key_path, create=True)
    checkpoint = sign(key, settings.origin, report.tree_size, report.root_hash, time_text(now()))
    export_public_key(key.public_key(), folder)
    path = export(checkpoint, folder)
    with Session(engine) as session, session.begin():
        session.add(
            AuditCheckpointRow(
                origin=checkpoint.origin,
                tree_size=checkpoint.tree_size,
                root_hash=checkpoint.root_hash,
                at=checkpoint.at,
                key_id=checkpoint.key_id,
                signature=base64.b64encode(checkpoint.signature).decode(),
            )
        )
    return checkpoint, path, report


def signed_checkpoints(
    engine: Engine, settings: AuditSettings, checkpoint_dir: Path | None = None
) -> list[tuple[str, Checkpoint]]:
    """Checkpoints (exported files, then database rows) whose signatures hold, by size."""
    folder = checkpoint_dir or settings.checkpoint_dir
    keys, _ = load_keyring(folder)
    exported, _ = read_exported(folder)
    with engine.connect() as conn:
        in_db = _db_checkpoints(conn)
    valid = [(s, cp) for s, cp in [*exported, *in_db] if cp.check(keys, settings.origin) is None]
    return sorted(valid, key=lambda v: v[1].tree_size)
