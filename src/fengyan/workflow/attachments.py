"""Attachment storage: content-addressed, typed by content, size-limited.

Files are stored as ``<root>/<aa>/<bb>/<sha256>`` where the hash is computed here: no part
of a user-supplied name ever reaches a path, so ``../`` and absolute names do nothing.
The type is detected from the bytes (magic numbers, and for Office files the ZIP's
content listing), never from the extension; only types listed in ``settings.yaml`` are
accepted. Writes go to a temporary file, are fsynced and renamed into place, so a crash
never leaves a half file under a hash name; reads re-hash the bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fengyan.workflow.config import load_settings
from fengyan.workflow.errors import AttachmentRejected, AttachmentTooLarge

_SHA: Final = re.compile(r"^[0-9a-f]{64}$")
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MARKUP: Final = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<iframe", b"<body")


def _office_type(data: bytes) -> str | None:
    """DOCX or XLSX when the ZIP's listing says so (read from the central directory only)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names or any("vbaProject" in n for n in names):
        return None  # not OOXML, or macro-enabled
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def _plain_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    head = data[:512].lstrip().lower()
    if any(head.startswith(m) for m in _MARKUP):
        return False  # markup a browser might render: not "plain" text
    return not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text)


def detect_media_type(data: bytes) -> str | None:
    """The media type the bytes actually are, or None when not recognised."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    if _plain_text(data):
        return "text/plain"
    return None


def clean_file_name(name: str, limit: int) -> str:
    """A display name: last path component, no control characters, at most ``limit`` chars."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    return (base or "file")[:limit]


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file in the store."""

    sha256: str
    size: int
    media_type: str


class AttachmentStore:
    """Content-addressed files under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def digest(data: bytes) -> str:
        """The SHA-256 hex of ``data``."""
        return hashlib.sha256(data).hexdigest()

    def path(self, sha256: str) -> Path:
        """Where the file with this hash lives; refuses anything but a SHA-256 hex."""
        if not _SHA.match(sha256):
            raise AttachmentRejected("workflow_bad_sha", value=sha256[:80])
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def check(self, data: bytes) -> StoredFile:
        """Validate size and type without storing; the file's hash, size and type."""
        settings = load_settings()
        if len(data) > settings.attachment_max_bytes:
            raise AttachmentTooLarge(size=len(data), limit=settings.attachment_max_bytes)
        if not data:
            raise AttachmentRejected("workflow_attachment_empty")
        media_type = detect_media_type(data)
        if media_type is None or media_type not in settings.attachment_allowed:
            raise AttachmentRejected(
                "workflow_attachment_type",
                detected=media_type or "unknown",
                allowed=", ".join(sorted(settings.attachment_allowed)),
            )
        return StoredFile(self.digest(data), len(data), media_type)

    def put(self, data: bytes) -> StoredFile:
        """Validate and store ``data`` (a no-op when the same bytes are already there)."""
        stored = self.check(data)
        self._write(stored.sha256, data)
        return stored

    def put_blob(self, data: bytes) -> str:
        """Store bytes the system made itself (lead packages) without a type check."""
        sha = self.digest(data)
        self._write(sha, data)
        return sha

    def _write(self, sha256: str, data: bytes) -> None:
        final = self.path(sha256)
        if final.exists() and self.digest(final.read_bytes()) == sha256:
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o440)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def get(self, sha256: str) -> bytes:
        """The stored bytes, re-hashed: a changed or missing file is an error, not data."""
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise AttachmentRejected("workflow_attachment_missing", sha256=sha256) from None
        if self.digest(data) != sha256:
            raise AttachmentRejected("workflow_attachment_corrupt", sha256=sha256)
        return data
