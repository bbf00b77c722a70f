"""Settings in one typed object, read from the environment and validated at start-up.

- ``FENGYAN_HOME`` (default ``./var``): working folder for data and secrets.
- ``FENGYAN_LAKE_DIR`` (default ``$FENGYAN_HOME/lake``): the Parquet lake.
- ``FENGYAN_DATABASE_URL`` (default SQLite at ``$FENGYAN_HOME/fengyan.db``): SQLAlchemy URL.
- ``FENGYAN_PSEUDONYM_KEY`` (default: generated into ``$FENGYAN_HOME/pseudonym.key``):
  the key for hashing ID numbers.
- ``FENGYAN_LANG`` (default ``zh``): language of user-facing messages (zh/en).
- ``FENGYAN_CHUNK_ROWS`` (default 25000): rows per ingest chunk (bounds memory).
- ``SOURCE_DATE_EPOCH`` (unset): fixes "now" for reproducible runs.

docs/operations.md carries the same table for operators.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where Fengyan keeps its data and how it talks to its database."""

    home: Path
    lake_dir: Path
    database_url: str
    chunk_rows: int
    pseudonym_key_env: str | None

    @classmethod
    def from_env(cls, home: Path | None = None) -> Settings:
        """Read settings from the environment; ``home`` overrides ``FENGYAN_HOME``."""
        home = (home or Path(os.environ.get("FENGYAN_HOME", "var"))).resolve()
        lake = Path(os.environ.get("FENGYAN_LAKE_DIR", home / "lake")).resolve()
        url = os.environ.get("FENGYAN_DATABASE_URL") or f"sqlite:///{home / 'fengyan.db'}"
        chunk = int(os.environ.get("FENGYAN_CHUNK_ROWS", "25000"))
        if chunk < 1:
            raise ValueError("FENGYAN_CHUNK_ROWS must be a positive integer")
        return cls(
            home=home,
            lake_dir=lake,
            database_url=url,
            chunk_rows=chunk,
            pseudonym_key_env=os.environ.get("FENGYAN_PSEUDONYM_KEY"),
        )

    def pseudonym_key(self) -> bytes:
        """The secret used to hash ID numbers; created on first use with mode 0600."""
        if self.pseudonym_key_env:
            return self.pseudonym_key_env.encode()
        path = self.home / "pseudonym.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()
