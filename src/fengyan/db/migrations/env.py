"""Alembic environment: runs migrations on the engine handed over by fengyan.db.engine."""

from __future__ import annotations

from alembic import context

from fengyan.db.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
