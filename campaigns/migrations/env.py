"""Alembic's environment: migrates on the connection `campaigns.db.upgrade` hands over.

A new revision is generated the same way, against a database at the newest revision:
`connection.run_sync` a function that sets `config.attributes["connection"]` on
`campaigns.db.alembic_config()` and calls `alembic.command.revision(config, message,
autogenerate=True, rev_id=...)`.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON, Connection

from campaigns.tables import Base, UtcDateTime


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Migrations must not import the application: render its column types in plain SQLAlchemy
    (alembic's own rendering of the JSONB variant leaves `Text` unqualified)."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and isinstance(item, JSON) and "postgresql" in item._variant_mapping:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the migrations with `dialer db upgrade` (campaigns.db.upgrade)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
