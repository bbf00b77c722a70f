"""The workspace: settings, lake, database and schema wired together once.

The CLI, and later the web app, build one :class:`Workspace` and pass it to the
service functions; nothing below reads the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine

from fengyan.db.engine import make_engine, upgrade
from fengyan.lake import Lake
from fengyan.schema import Schema, load_schema
from fengyan.settings import Settings


@dataclass
class Workspace:
    """Everything a command needs to read and write Fengyan's data."""

    settings: Settings

    @classmethod
    def from_env(cls, home: Path | None = None) -> Workspace:
        """A workspace from the environment (``home`` overrides ``FENGYAN_HOME``)."""
        return cls(Settings.from_env(home))

    @cached_property
    def engine(self) -> Engine:
        """The operational database, migrated to the current schema."""
        engine = make_engine(self.settings.database_url)
        upgrade(engine)
        return engine

    @cached_property
    def lake(self) -> Lake:
        """The Parquet lake."""
        return Lake(self.settings.lake_dir)

    @property
    def schema(self) -> Schema:
        """The entity schema."""
        return load_schema()

    def init(self) -> None:
        """Create the data folders and the database (idempotent)."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.lake.root.mkdir(parents=True, exist_ok=True)
        _ = self.engine
        self.settings.pseudonym_key()
