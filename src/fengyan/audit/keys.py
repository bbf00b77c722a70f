"""The Ed25519 signing key of the checkpoints, and the keyring ``verify`` trusts.

The private key lives in one file (``FENGYAN_AUDIT_KEY``, PEM PKCS #8, mode 0600). Its
public half is exported next to the checkpoints, as ``keys/<key id>.pub`` in the checkpoint
folder: that folder is the anchor ``verify`` trusts, so the keys that sign it live there
too, and a rotated-out key stays there so its old checkpoints still verify.

A key id is the first 16 bytes, in hex, of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fengyan.audit.errors import AuditError, Finding

KEYRING = "keys"


def key_id(public: Ed25519PublicKey) -> str:
    """The 32-hex-digit id of a public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def public_pem(public: Ed25519PublicKey) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo), the form the keyring stores."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, with ``mode``, and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def generate_key(path: Path) -> Ed25519PrivateKey:
    """Create a new private key at ``path`` (which must not exist), mode 0600."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        _write_new(path, pem, 0o600)
    except FileExistsError:
        raise AuditError("audit_key_exists", path=path) from None
    return key


def load_key(path: Path, create: bool = False) -> Ed25519PrivateKey:
    """The private key at ``path``; generated there first when ``create`` and it is absent."""
    if not path.exists():
        if create:
            return generate_key(path)
        raise AuditError("audit_key_missing", path=path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise AuditError("audit_key_unreadable", path=path, problem=str(exc)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError("audit_key_unreadable", path=path, problem="not an Ed25519 key")
    return key


def export_public_key(public: Ed25519PublicKey, checkpoint_dir: Path) -> Path:
    """Put ``public`` into the keyring of ``checkpoint_dir`` (no-op when already there)."""
    target = checkpoint_dir / KEYRING / f"{key_id(public)}.pub"
    if not target.exists():
        # A concurrent checkpoint may have exported it first.
        with contextlib.suppress(FileExistsError):
            _write_new(target, public_pem(public), 0o644)
    return target


def load_keyring(checkpoint_dir: Path) -> tuple[dict[str, Ed25519PublicKey], list[Finding]]:
    """The trusted public keys in ``checkpoint_dir/keys``, and findings about bad files."""
    keys: dict[str, Ed25519PublicKey] = {}
    findings: list[Finding] = []
    folder = checkpoint_dir / KEYRING
    if not folder.is_dir():
        return keys, findings
    for path in sorted(folder.glob("*.pub")):
        try:
            public = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError, UnsupportedAlgorithm) as exc:
            findings.append(Finding("error", "audit_keyring_bad", {"file": path, "problem": exc}))
            continue
        if not isinstance(public, Ed25519PublicKey) or key_id(public) != path.stem:
            problem = (
                "not an Ed25519 key"
                if not isinstance(public, Ed25519PublicKey)
                else ("file name is not the key id")
            )
            findings.append(
                Finding("error", "audit_keyring_bad", {"file": path, "problem": problem})
            )
            continue
        keys[path.stem] = public
    return keys, findings


def rotate_key(path: Path, checkpoint_dir: Path) -> tuple[str | None, str]:
    """Replace the key at ``path`` by a new one; the old public key stays in the keyring.

    Returns (old key id or None, new key id). The old private key is overwritten: its
    checkpoints keep verifying with its public key, and nobody can sign with it again.
    """
    old = load_key(path) if path.exists() else None
    if old is not None:
        export_public_key(old.public_key(), checkpoint_dir)
    staging = path.with_name(path.name + ".new")
    staging.unlink(missing_ok=True)
    new = generate_key(staging)
    os.replace(staging, path)
    export_public_key(new.public_key(), checkpoint_dir)
    return (key_id(old.public_key()) if old else None), key_id(new.public_key())
