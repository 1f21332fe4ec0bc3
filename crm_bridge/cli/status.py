"""``crm-bridge status``: the running bridge as its state store sees it — the daemon replicas, which
replica holds which job and how its last run went, the lag of each sync cursor, the outbox's depth and
the shared CRM rate budget; a table, or JSON with ``--json``. Reads the store only (no CRM call)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext


def _iso(ts: float | None) -> str | None:
    return None if not ts else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86_400:.1f}d"


def collect(obj: CliContext) -> dict[str, Any]:
    """Everything the command shows, as plain JSON-ready data."""
    from crm_bridge.bootstrap import keyring_for, portal_id
    from crm_bridge.store import health, open_store
    from crm_bridge.store.db import state_errors
    from crm_bridge.store.leases import LeaseRepository

    settings = obj.settings()
    portal = portal_id(settings.crm, settings.state.portal)
    lease_period = settings.schedule.lease
    with open_store(settings.state.url, keyring=keyring_for(settings)) as store:
        repo = LeaseRepository(store.engine, portal)
        with state_errors("reading the bridge's status"):
            now = repo.now()
            now_dt = datetime.fromtimestamp(now, UTC)
            replicas = repo.replicas()
            leases = {lease.job: lease for lease in repo.leases()}
            cursors = health.cursors(store.engine, portal)
            depth = health.outbox_depth(store.engine, portal, now_dt)
            buckets = health.buckets(store.engine)
            windows = health.window_spend(store.engine, now - 3600)
    bot = settings.bot
    runs = {  # as the engine's jobs: these run only when their feature is on
        "bot": bot.enabled,
        "bot_updates": bot.enabled and bot.mode == "polling",
        "events": settings.events.enabled,
    }
    enabled = [
        name for name, sched in settings.schedule.jobs().items() if sched.enabled and runs.get(name, True)
    ]
    jobs = []
    for name in enabled + sorted(set(leases) - set(enabled)):
        lease = leases.get(name)
        held = lease is not None and lease.held_at(now)
        jobs.append(
            {
                "job": name,
                "enabled": name in enabled,
                "holder": lease.holder if held and lease else None,
                "lease_expires_in": round(lease.expires - now, 1) if held and lease else None,
                "last_run_by": (lease.last_holder or None) if lease else None,
                "last_started": _iso(lease.last_started) if lease else None,
                "last_finished": _iso(lease.last_finished) if lease else None,
                "last_ok": lease.last_ok if lease else None,
                "last_error": lease.last_error if lease else None,
                "runs": lease.runs if lease else 0,
            }
        )
    return {
        "portal": portal,
        "state": settings.state.masked_url(),
        "now": now_dt.isoformat(timespec="seconds"),
        "lease_seconds": lease_period,
        "replicas": [
            {
                "id": r.id,
                "host": r.host,
                "pid": r.pid,
                "started": _iso(r.started),
                "last_seen": _iso(r.seen),
                "state": "stopped" if r.stopped else ("running" if now - r.seen < lease_period else "gone"),
                "holds": sorted(j["job"] for j in jobs if j["holder"] == r.id),
            }
            for r in replicas
        ],
        "jobs": jobs,
        "sync_cursors": [
            {
                "entity": c.entity,
                "cursor": c.modified_at.isoformat(timespec="seconds"),
                "lag_seconds": round((now_dt - c.modified_at).total_seconds(), 1),
                "backfill_in_progress": c.backfill_in_progress,
            }
            for c in cursors
        ],
        "outbox": {
            "pending": sum(d.pending for d in depth),
            "due": sum(d.due for d in depth),
            "failed": sum(d.failed for d in depth),
            "by_kind": [
                {
                    "kind": d.kind,
                    "pending": d.pending,
                    "due": d.due,
                    "failed": d.failed,
                    "oldest_pending": d.oldest_pending.isoformat(timespec="seconds")
                    if d.oldest_pending
                    else None,
                }
                for d in depth
            ],
        },
        "rate_budget": {
            "buckets": [
                {"key": b.key, "level_at_last_use": round(b.level, 3), "last_use": _iso(b.updated)}
                for b in buckets
            ],
            "windows_last_hour": {key: round(total, 3) for key, total in windows.items()},
        },
    }


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def render(obj: CliContext, data: dict[str, Any]) -> None:
    console = obj.console
    now = datetime.fromisoformat(data["now"])

    def since(iso: str | None) -> str:
        return "-" if iso is None else _ago((now - datetime.fromisoformat(iso)).total_seconds()) + " ago"

    console.print(f"crm-bridge status of {escape(data['portal'])} ({escape(data['state'])}) at {data['now']}")
    replicas = _table("Daemon replicas", "replica", "state", "started", "last seen", "holds")
    colour = {"running": "green", "stopped": "dim", "gone": "red"}
    for r in data["replicas"]:
        state = f"[{colour[r['state']]}]{r['state']}[/{colour[r['state']]}]"
        replicas.add_row(
            escape(r["id"]), state, since(r["started"]), since(r["last_seen"]), ", ".join(r["holds"])
        )
    if not data["replicas"]:
        replicas.add_row("-", "no daemon has run on this store", "", "", "")
    console.print(replicas)
    jobs = _table("Jobs", "job", "held by", "lease", "last run by", "last finished", "outcome", "runs")
    for j in data["jobs"]:
        outcome = (
            "-"
            if j["last_ok"] is None
            else "[green]ok[/green]"
            if j["last_ok"]
            else f"[red]failed[/red] {escape(j['last_error'] or '')}"
        )
        lease = "-" if j["lease_expires_in"] is None else f"{j['lease_expires_in']:.0f}s left"
        jobs.add_row(
            j["job"] + ("" if j["enabled"] else " (disabled)"),
            escape(j["holder"]) if j["holder"] else "[yellow]nobody[/yellow]",
            lease,
            escape(j["last_run_by"] or "-"),
            since(j["last_finished"]),
            outcome,
            str(j["runs"]),
        )
    console.print(jobs)
    cursors = _table("Sync cursors", "entity", "cursor at", "lag", "backfill")
    for c in data["sync_cursors"]:
        cursors.add_row(
            c["entity"],
            c["cursor"],
            _ago(c["lag_seconds"]),
            "in progress" if c["backfill_in_progress"] else "",
        )
    if not data["sync_cursors"]:
        cursors.add_row("-", "never synced", "", "")
    console.print(cursors)
    box = data["outbox"]
    outbox = _table(
        f"Outbox: {box['pending']} pending ({box['due']} due now), {box['failed']} given up",
        "kind",
        "pending",
        "due now",
        "given up",
        "oldest pending",
    )
    for d in box["by_kind"]:
        outbox.add_row(
            d["kind"], str(d["pending"]), str(d["due"]), str(d["failed"]), since(d["oldest_pending"])
        )
    console.print(outbox)
    rate = data["rate_budget"]
    budget = _table(
        "CRM rate budget (kept in the store: one budget for every replica)",
        "budget",
        "requests in it at last use",
        "last use",
    )
    for b in rate["buckets"]:
        budget.add_row(escape(b["key"]), f"{b['level_at_last_use']:g}", since(b["last_use"]))
    if not rate["buckets"]:
        budget.add_row("-", "no CRM request yet", "")
    console.print(budget)
    windows = rate["windows_last_hour"]
    if windows:
        top = sorted(windows.items(), key=lambda kv: -kv[1])[:3]
        console.print(
            f"Sliding-window budgets, last hour: {len(windows)} key(s), {sum(windows.values()):g} spent; "
            "most: " + ", ".join(f"{escape(k)} {v:g}" for k, v in top)
        )


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_obj
def command(obj: CliContext, as_json: bool) -> None:
    """Show the daemon replicas and the jobs each holds, each job's last run, the lag of each sync
    cursor, the outbox's depth and the CRM rate budget, from the state store (no CRM call)."""
    data = collect(obj)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        render(obj, data)
