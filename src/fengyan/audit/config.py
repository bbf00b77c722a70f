"""Where the audit log keeps its signing key and exports its checkpoints.

- ``FENGYAN_AUDIT_KEY`` (default ``$FENGYAN_HOME/audit/signing.key``): the Ed25519 private
  key (PEM, PKCS #8) that signs checkpoints; created with mode 0600 on first use.
- ``FENGYAN_AUDIT_CHECKPOINTS`` (default ``$FENGYAN_HOME/audit/checkpoints``): the folder
  signed checkpoints are exported to and ``verify`` reads them from. In production it must
  be a place the application's user cannot write (docs/audit.md, "Operations").
- ``FENGYAN_AUDIT_ORIGIN`` (default ``fengyan-audit``): the log's name, signed into every
  checkpoint so that checkpoints of another deployment's log are not taken for ours.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fengyan.settings import Settings

DEFAULT_ORIGIN = "fengyan-audit"


@dataclass(frozen=True)
class AuditSettings:
    """The audit log's key file, checkpoint folder and origin name."""

    key_path: Path
    checkpoint_dir: Path
    origin: str = DEFAULT_ORIGIN

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> AuditSettings:
        """Read the audit settings from the environment, defaulting under the home folder."""
        env = os.environ if environ is None else environ
        base = settings.home / "audit"
        key = Path(env.get("FENGYAN_AUDIT_KEY") or base / "signing.key")
        checkpoints = Path(env.get("FENGYAN_AUDIT_CHECKPOINTS") or base / "checkpoints")
        origin = env.get("FENGYAN_AUDIT_ORIGIN") or DEFAULT_ORIGIN
        if "\n" in origin or not origin.strip():
            raise ValueError("FENGYAN_AUDIT_ORIGIN must be one non-empty line")
        return cls(key.resolve(), checkpoints.resolve(), origin)
