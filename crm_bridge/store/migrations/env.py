"""Alembic's environment: the connection comes from ``crm_bridge.store.migrate`` (in the caller's
transaction, under its lock); from the ``alembic`` command line, from ``CRM_BRIDGE_STATE_URL``."""

from __future__ import annotations

import os

from alembic import context

from crm_bridge.store import (
    bot_schema,
    events_schema,
    lease_schema,
    lifecycle_schema,
    portal_schema,
    sales_schema,
    schema,
)

config = context.config
target_metadata = [
    schema.metadata,
    sales_schema.metadata,
    portal_schema.metadata,
    lifecycle_schema.metadata,
    lease_schema.metadata,
    bot_schema.metadata,
    events_schema.metadata,
]


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("crm-bridge migrations run online only (they inspect the database)")

connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # developers: the alembic command line
    from crm_bridge.store.db import make_engine

    engine = make_engine(os.environ.get("CRM_BRIDGE_STATE_URL", "sqlite:///crm_bridge.db"))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()
