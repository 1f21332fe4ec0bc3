"""``crm-bridge db``: the state store's schema. ``db upgrade`` applies the Alembic migrations that are
due (every start does the same; this is for a deploy step before the new version starts), ``db
current`` shows the revision the store is at and what is pending. Neither needs the CRM."""

from __future__ import annotations

import click

from crm_bridge.cli.output import CliContext


@click.group("db")
def command() -> None:
    """The state store's schema (state.url): show its revision, apply pending migrations."""


@command.command("current")
@click.pass_obj
def current_cmd(obj: CliContext) -> None:
    """Show the store's schema revision, the newest this crm-bridge has, and what is pending."""
    from crm_bridge.store.db import make_engine, safe_url, state_errors
    from crm_bridge.store.migrate import current, head, pending
    from crm_bridge.store.migrations import legacy

    url = obj.settings().state.url
    engine = make_engine(url)
    try:
        with state_errors(f"reading the schema revision of {safe_url(url)}"):
            at = current(engine)
            due = pending(engine)
            with engine.connect() as conn:
                old = legacy.legacy_versions(conn) if legacy.has_legacy_versions(conn) else None
    finally:
        engine.dispose()
    obj.console.print(f"state store: {safe_url(url)}")
    if old is not None:
        versions = ", ".join(f"{name} {version}" for name, version in sorted(old.items()))
        obj.console.print(f"revision:   none (created before Alembic: {versions})")
    else:
        obj.console.print(f"revision:   {at or 'none (empty)'}")
    obj.console.print(f"newest:     {head()}")
    if old is not None:
        later = f", then {', '.join(due)}" if due else ""
        obj.console.print(
            f"pending:    adopting it (its own upgrade steps, stamped at the first revision){later}: "
            "`crm-bridge db upgrade` or any start does it"
        )
    elif due:
        obj.console.print(f"pending:    {', '.join(due)} (applied by `crm-bridge db upgrade` or at start)")
    elif at is None and old is None:
        obj.console.print(
            "pending:    every revision (the store is empty; `crm-bridge db upgrade` creates it)"
        )
    else:
        obj.console.print("pending:    none: the store is up to date")


@command.command("upgrade")
@click.pass_obj
def upgrade_cmd(obj: CliContext) -> None:
    """Apply the pending migrations (one transaction, under a lock: safe while another process starts)."""
    from crm_bridge.store.db import make_engine, safe_url, state_errors
    from crm_bridge.store.migrate import upgrade

    url = obj.settings().state.url
    engine = make_engine(url)
    try:
        with state_errors(f"upgrading {safe_url(url)}"):
            done = upgrade(engine)
    finally:
        engine.dispose()
    if done.legacy is not None:
        versions = ", ".join(f"{name} {version}" for name, version in sorted(done.legacy.items()))
        obj.console.print(f"adopted a store created before Alembic ({versions}) at revision {done.after}")
    if done.before != done.after:
        obj.console.print(f"{safe_url(url)}: upgraded from {done.before or 'empty'} to {done.after}")
    elif done.legacy is None:
        obj.console.print(f"{safe_url(url)}: already at {done.after}; nothing to do")
