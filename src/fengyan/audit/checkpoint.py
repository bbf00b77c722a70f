"""Signed checkpoints (signed tree heads): the root of the first n entries, signed.

The signed message is a small text note, in the manner of Certificate Transparency's
signed tree heads and the C2SP ``tlog-checkpoint`` format::

    fengyan-audit-checkpoint/1
    <origin>
    <tree size>
    <root hash, 64 hex digits>
    <time, 2026-11-21T08:54:24.123456Z>

Ed25519 signs those bytes (UTF-8, each line ending in a newline). A checkpoint is kept in
two places: a row of ``audit_checkpoint`` and a JSON file in the export folder
(``<tree size, 12 digits>-<time>.json``), which files are never overwritten.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fengyan.audit.errors import AuditError, Finding
from fengyan.audit.keys import key_id

FORMAT = "fengyan-audit-checkpoint/1"
FIELDS = ("format", "origin", "tree_size", "root_hash", "time", "key_id", "signature")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: "the log ``origin`` had ``tree_size`` entries with this root"."""

    origin: str
    tree_size: int
    root_hash: bytes
    at: str
    key_id: str
    signature: bytes

    def note(self) -> bytes:
        """The exact bytes the signature covers."""
        return note_bytes(self.origin, self.tree_size, self.root_hash, self.at)

    def to_json(self) -> bytes:
        """The exported file's content (pretty, sorted, one trailing newline)."""
        body = {
            "format": FORMAT,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "time": self.at,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }
        return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"

    def file_name(self) -> str:
        """``000000001000-20261121T085424123456Z.json``: sorts by size, then time."""
        stamp = self.at.replace("-", "").replace(":", "").replace(".", "")
        return f"{self.tree_size:012d}-{stamp}.json"

    def check(self, keys: dict[str, Ed25519PublicKey], origin: str) -> str | None:
        """None when the signature holds under a trusted key; else the finding's code."""
        if self.origin != origin:
            return "audit_checkpoint_other_log"
        public = keys.get(self.key_id)
        if public is None:
            return "audit_checkpoint_unknown_key"
        try:
            public.verify(self.signature, self.note())
        except InvalidSignature:
            return "audit_checkpoint_bad_signature"
        return None


def note_bytes(origin: str, tree_size: int, root_hash: bytes, at: str) -> bytes:
    """The signed note of a checkpoint."""
    return f"{FORMAT}\n{origin}\n{tree_size}\n{root_hash.hex()}\n{at}\n".encode()


def sign(
    key: Ed25519PrivateKey, origin: str, tree_size: int, root_hash: bytes, at: str
) -> Checkpoint:
    """Sign the tree head (``origin``, ``tree_size``, ``root_hash``, ``at``)."""
    signature = key.sign(note_bytes(origin, tree_size, root_hash, at))
    return Checkpoint(origin, tree_size, root_hash, at, key_id(key.public_key()), signature)


def parse(data: bytes, source: str) -> Checkpoint:
    """A checkpoint from its exported JSON; errors name the file and the field."""
    try:
        body: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise AuditError(
            "audit_checkpoint_malformed", file=source, field="-", problem=exc
        ) from None
    if not isinstance(body, dict):
        raise AuditError(
            "audit_checkpoint_malformed", file=source, field="-", problem="not an object"
        )
    for name in FIELDS:
        if name not in body:
            raise AuditError(
                "audit_checkpoint_malformed", file=source, field=name, problem="missing"
            )
    if body["format"] != FORMAT:
        raise AuditError(
            "audit_checkpoint_malformed", file=source, field="format", problem=body["format"]
        )
    size = body["tree_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise AuditError("audit_checkpoint_malformed", file=source, field="tree_size", problem=size)
    for name in ("origin", "root_hash", "time", "key_id", "signature"):
        if not isinstance(body[name], str):
            raise AuditError(
                "audit_checkpoint_malformed", file=source, field=name, problem="not a string"
            )
    try:
        root = bytes.fromhex(body["root_hash"])
        signature = base64.b64decode(body["signature"], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise AuditError(
            "audit_checkpoint_malformed", file=source, field="-", problem=exc
        ) from None
    if len(root) != 32 or len(signature) != 64:
        raise AuditError(
            "audit_checkpoint_malformed", file=source, field="root_hash/signature", problem="length"
        )
    return Checkpoint(body["origin"], size, root, body["time"], body["key_id"], signature)


def export(checkpoint: Checkpoint, directory: Path) -> Path:
    """Write ``checkpoint`` into ``directory`` (atomically; an existing file is never replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / checkpoint.file_name()
    staging = directory / f".{checkpoint.file_name()}.{os.getpid()}.tmp"
    with open(staging, "wb") as fh:
        fh.write(checkpoint.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    try:
        # link() fails when the target exists, where rename() would silently replace it.
        os.link(staging, target)
    except FileExistsError:
        if target.read_bytes() != checkpoint.to_json():
            raise AuditError("audit_checkpoint_exists", file=target) from None
    finally:
        staging.unlink(missing_ok=True)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


def read_exported(directory: Path) -> tuple[list[tuple[str, Checkpoint]], list[Finding]]:
    """Every exported checkpoint in ``directory`` (by file name), and unreadable files."""
    found: list[tuple[str, Checkpoint]] = []
    findings: list[Finding] = []
    if not directory.is_dir():
        return found, findings
    for path in sorted(directory.glob("*.json")):
        try:
            found.append((str(path), parse(path.read_bytes(), str(path))))
        except AuditError as exc:
            findings.append(Finding("error", exc.code, exc.params))
        except OSError as exc:
            findings.append(
                Finding(
                    "error",
                    "audit_checkpoint_malformed",
                    {"file": path, "field": "-", "problem": exc},
                )
            )
    return found, findings
