"""Validated, idempotent, crash-safe ingestion of agency files into the lake."""

from fengyan.ingest.errors import IngestError, Issue
from fengyan.ingest.manifest import Manifest
from fengyan.ingest.pipeline import IngestReport, ingest_file

__all__ = ["IngestError", "IngestReport", "Issue", "Manifest", "ingest_file"]
