"""A frozen copy of the state store's DDL and its hand-written versioning as they were before Alembic
(core schema 3, engine schema 2: ``schema_v3.py``, ``engine_schema_v2.py``, ``migrate_v3.py``, copied
unchanged from the last release that had them). ``build_legacy_store`` makes a real old database with
that code path, optionally rewound to an older version, so the tests can check how today's
``open_store`` / ``crm-bridge db upgrade`` adopt it. Test equipment: never imported by the product."""

from __future__ import annotations

from sqlalchemy import text

from crm_bridge.store.db import make_engine

from . import migrate_v3


def build_legacy_store(url: str, *, core: int = 3, engine: int = 2) -> None:
    """Create every table at core 3 / engine 2 exactly as the old release did, then rewind to
    ``core``/``engine`` (1 or 2 / 1) the way those versions looked."""
    eng = make_engine(url)
    try:
        migrate_v3.migrate(eng)
        with eng.begin() as conn:
            if core < 3:
                conn.execute(text("ALTER TABLE sync_cursors DROP COLUMN resume"))
            if core < 2:
                conn.execute(text("DROP TABLE budget_spend"))
            if engine < 2:
                conn.execute(text("DROP INDEX ux_engine_tier_pending_open"))
                if conn.dialect.name == "postgresql":
                    conn.execute(text("ALTER TABLE engine_tier_pending ALTER COLUMN status TYPE VARCHAR(16)"))
            conn.execute(text("UPDATE schema_version SET version = :v WHERE component = 'core'"), {"v": core})
            conn.execute(
                text("UPDATE schema_version SET version = :v WHERE component = 'engine'"), {"v": engine}
            )
    finally:
        eng.dispose()
