"""Lead packages (线索移交包): a signed ZIP another agency can check without our system.

Layout::

    manifest.json   format, lead, case, sender, target, and every other file's path,
                    size and SHA-256 (canonical JSON: sorted keys, UTF-8)
    manifest.sig    Ed25519 signature (base64) over ``fengyan-lead/1\\n`` + manifest.json
    signer.pub      the sender's public key (PEM) — a hint: trust comes from the keyring
    case.json       the case: firm, region, grade, category, evidence snapshot, timeline
    evidence.json   the evidence records behind the snapshot's keys, when available
    attachments/<sha256>   the case's files

Signing the manifest signs everything, since it holds every file's hash. The receiver
verifies with a public key it got out of band (its keyring), so a package re-signed by
someone else does not pass. Entries have fixed times, so a package is reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fengyan.audit.keys import key_id, public_pem
from fengyan.i18n import t
from fengyan.workflow.config import load_settings

MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
SIGNER: Final = "signer.pub"
CONTROL: Final = (MANIFEST, SIGNATURE, SIGNER)


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode("utf-8")


def _signed_bytes(fmt: str, manifest: bytes) -> bytes:
    # Domain separation: a signature over a manifest cannot be replayed as anything else.
    return fmt.encode() + b"\n" + manifest


def build_package(
    meta: Mapping[str, Any], files: Mapping[str, bytes], key: Ed25519PrivateKey, moment: datetime
) -> bytes:
    """A signed package holding ``files`` (path → bytes) described by ``meta``."""
    fmt = load_settings().lead_format
    manifest = {
        **meta,
        "format": fmt,
        "key_id": key_id(key.public_key()),
        "files": [
            {"path": p, "size": len(files[p]), "sha256": hashlib.sha256(files[p]).hexdigest()}
            for p in sorted(files)
        ],
    }
    manifest_bytes = canonical(manifest)
    signature = base64.b64encode(key.sign(_signed_bytes(fmt, manifest_bytes)))
    stamp = moment.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        members = [
            (MANIFEST, manifest_bytes),
            (SIGNATURE, signature),
            (SIGNER, public_pem(key.public_key())),
        ] + [(p, files[p]) for p in sorted(files)]
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@dataclass
class PackageReport:
    """The result of checking a package: ``ok`` only if intact, signed and trusted."""

    ok: bool = False
    key_id: str | None = None
    trusted: bool = False
    signature_valid: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    problems: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sha256: str = ""

    def add(self, code: str, **params: Any) -> None:
        """Record a problem (a message code of workflow.yaml and its parameters)."""
        self.problems.append((code, params))

    def messages(self, lang: str | None = None) -> list[str]:
        """The problems as text."""
        return [t(code, lang, **params) for code, params in self.problems]


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return (
        bool(name)
        and not name.startswith("/")
        and "\\" not in name
        and ":" not in name
        and all(p not in ("", ".", "..") for p in parts)
    )


def _read_members(data: bytes, report: PackageReport) -> dict[str, bytes] | None:
    limit = load_settings().lead_max_package_bytes
    if len(data) > limit:
        report.add("workflow_lead_too_large", size=len(data), limit=limit)
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        report.add("workflow_lead_not_zip", problem=str(exc))
        return None
    with archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            report.add("workflow_lead_duplicate_entry")
            return None
        bad = [n for n in names if not _safe_name(n)]
        if bad:
            report.add("workflow_lead_bad_path", path=bad[0])
            return None
        # The declared sizes bound what decompression may produce (no zip bombs).
        if sum(i.file_size for i in infos) > limit:
            report.add("workflow_lead_too_large", size=sum(i.file_size for i in infos), limit=limit)
            return None
        try:
            return {i.filename: archive.read(i) for i in infos}
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            report.add("workflow_lead_not_zip", problem=str(exc))
            return None


def verify_package(data: bytes, trusted: Mapping[str, Ed25519PublicKey]) -> PackageReport:
    """Check a received package: structure, every file's hash, the signature, the key.

    ``trusted`` maps key ids to public keys the receiver trusts (a keyring folder, see
    :func:`fengyan.audit.keys.load_keyring`). Every problem is listed, not only the first.
    """
    report = PackageReport(sha256=hashlib.sha256(data).hexdigest())
    members = _read_members(data, report)
    if members is None:
        return report
    missing = [n for n in CONTROL if n not in members]
    if missing:
        report.add("workflow_lead_missing_file", path=", ".join(missing))
        return report
    fmt = load_settings().lead_format
    try:
        manifest = json.loads(members[MANIFEST])
        assert isinstance(manifest, dict) and isinstance(manifest.get("files"), list)
    except (ValueError, AssertionError):
        report.add("workflow_lead_bad_manifest", problem="not a JSON object with files")
        return report
    report.manifest = manifest
    if manifest.get("format") != fmt:
        report.add("workflow_lead_bad_manifest", problem=f"format {manifest.get('format')!r}")
    report.key_id = str(manifest.get("key_id"))
    signature = base64.b64decode(members[SIGNATURE], validate=False)
    public = trusted.get(report.key_id)
    report.trusted = public is not None
    if public is None:
        report.add("workflow_lead_untrusted", key_id=report.key_id)
        try:
            hint = serialization.load_pem_public_key(members[SIGNER])
        except ValueError:
            hint = None
        # Checked anyway, to tell a corrupted package from one by an unknown sender.
        public = (
            hint if isinstance(hint, Ed25519PublicKey) and key_id(hint) == report.key_id else None
        )
    if public is not None:
        try:
            public.verify(signature, _signed_bytes(fmt, members[MANIFEST]))
            report.signature_valid = True
        except InvalidSignature:
            report.add("workflow_lead_bad_signature", key_id=report.key_id)
    listed: dict[str, dict[str, Any]] = {}
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not _safe_name(str(entry.get("path", ""))):
            report.add("workflow_lead_bad_manifest", problem=f"bad file entry {entry!r}")
            continue
        listed[str(entry["path"])] = entry
    for path, entry in listed.items():
        content = members.get(path)
        if content is None or path in CONTROL:
            report.add("workflow_lead_missing_file", path=path)
        elif hashlib.sha256(content).hexdigest() != entry.get("sha256") or len(
            content
        ) != entry.get("size"):
            report.add("workflow_lead_hash_mismatch", path=path)
    for extra in sorted(set(members) - set(listed) - set(CONTROL)):
        report.add("workflow_lead_extra_file", path=extra)
    report.files = {p: members[p] for p in listed if p in members}
    report.ok = not report.problems and report.trusted and report.signature_valid
    return report
