"""Directory ingestion: a ``manifest.yaml`` lists the files, their types and sources.

::

    source: 市场监管局            # default for every file
    as_of: 2024-06-30            # optional default
    files:
      - path: registry/enterprises.csv
        type: Enterprise
        mapping: registry/enterprises.mapping.yaml
        encoding: gb18030        # optional; detected otherwise
      - path: court/judgments.jsonl
        type: Judgment
        source: 人民法院

Files are ingested in the listed order (entities before the relations that name them).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fengyan.ingest.errors import IngestError
from fengyan.yamlstrict import load_yaml


class ManifestFile(BaseModel):
    """One file of a delivery."""

    model_config = ConfigDict(extra="forbid")
    path: str
    type: str
    source: str | None = None
    mapping: str | None = None
    encoding: str | None = None
    format: str | None = None
    as_of: date | datetime | None = None


class Manifest(BaseModel):
    """A delivery of files from one or more agencies."""

    model_config = ConfigDict(extra="forbid")
    source: str | None = None
    as_of: date | datetime | None = None
    files: list[ManifestFile] = Field(min_length=1)

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """Read ``folder/manifest.yaml``."""
        path = folder / "manifest.yaml"
        if not path.is_file():
            raise IngestError("ingest_no_manifest", str(folder))
        try:
            return cls.model_validate(load_yaml(path.read_text(encoding="utf-8")) or {})
        except (yaml.YAMLError, ValidationError) as exc:
            raise IngestError("ingest_bad_manifest", str(path), detail=str(exc)[:500]) from exc
