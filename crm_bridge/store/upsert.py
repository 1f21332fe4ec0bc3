"""INSERT … ON CONFLICT DO UPDATE / DO NOTHING for SQLite and PostgreSQL (both speak it)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def _insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the state store supports SQLite and PostgreSQL, not {conn.dialect.name}")


def upsert(conn: Connection, table: Table, keys: Sequence[str]) -> Insert:
    """Insert rows; a row whose ``keys`` already exist replaces every other column."""
    stmt = _insert(conn, table)
    columns = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=columns)


def insert_missing(conn: Connection, table: Table, keys: Sequence[str]) -> Insert:
    """Insert rows whose ``keys`` do not exist yet; existing rows are left alone."""
    return _insert(conn, table).on_conflict_do_nothing(index_elements=list(keys))


def upsert_partial(
    conn: Connection,
    table: Table,
    keys: Sequence[str],
    where: ColumnElement[bool] | None,
    update: Sequence[str],
) -> Insert:
    """Insert a row; when a row with the same ``keys`` exists (matching ``where`` for a partial unique
    index on ``keys`` WHERE ``where``), set only the ``update`` columns of that row instead."""
    stmt = _insert(conn, table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), index_where=where, set_={c: stmt.excluded[c] for c in update}
    )
