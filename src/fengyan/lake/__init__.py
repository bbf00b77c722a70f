"""The Parquet lake: append-only, atomically written batch files read through DuckDB."""

from fengyan.lake.store import SYSTEM_COLUMNS, BatchWriter, Lake

__all__ = ["SYSTEM_COLUMNS", "BatchWriter", "Lake"]
