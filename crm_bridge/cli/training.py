"""``crm-bridge training``: training completions — ``import`` a CSV, ``webhook`` replay a saved LMS
webhook body (generic JSON or TalentLMS), ``show`` certified people per partner."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext


def _service(obj: CliContext):  # type: ignore[no-untyped-def]
    from crm_bridge.daemon.engine import Engine
    from crm_bridge.services.partners.training import TrainingService

    app = obj.app()
    return app, TrainingService(Engine(app).partner_lifecycle())


@click.group("training")
def command() -> None:
    """Training and certification of partners' people: import, LMS webhook, certified people."""


@command.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def import_completions(obj: CliContext, csv_file: Path) -> None:
    """Import completions from CSV_FILE: columns email, course_id, completed_at and optionally
    partner_id (else the e-mail domain in training.partner_domains), name, course_name, certified.
    A completion already recorded is not counted twice; a file with a bad row imports nothing."""
    _, service = _service(obj)
    done = service.import_csv(csv_file)
    obj.console.print(
        f"{done.rows} completion(s) of {done.partners} partner(s) read, {done.new} new "
        f"({done.rows - done.new} already recorded)."
    )


@command.command("webhook")
@click.argument("json_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lms", type=click.Choice(["generic", "talentlms"]), default="generic", show_default=True)
@click.pass_obj
def webhook(obj: CliContext, json_file: Path, lms: str) -> None:
    """Record the completions of a saved LMS webhook body (what the daemon's endpoint does with a
    POST): for a webhook the endpoint could not take, or to try a payload out."""
    from crm_bridge.errors import UsageError
    from crm_bridge.services.partners.training_webhook import TrainingWebhook

    _, service = _service(obj)
    try:
        body = json_file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{json_file}: cannot read it ({exc.strerror})") from None
    result = TrainingWebhook(service).ingest(body, source=lms)
    if result.ignored:
        obj.console.print(f"Nothing recorded: {result.ignored}.")
        return
    obj.console.print(f"{result.received} completion(s) received, {result.new} new.")


@command.command("show")
@click.pass_obj
def show(obj: CliContext) -> None:
    """Certified people (valid certificates) and completions per partner."""
    app, service = _service(obj)
    stats = service.stats(app.clock())
    names = {p.crm_id: p.name for p in app.store.partners(app.portal)}
    if not stats:
        obj.console.print("No training completions recorded yet (crm-bridge training import FILE).")
        return
    table = Table(title="Training and certification", title_justify="left")
    for name, justify in (
        ("partner", "left"),
        ("certified people", "right"),
        ("completions", "right"),
        ("last", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for pid, s in sorted(stats.items(), key=lambda kv: (-kv[1].certified_people, names.get(kv[0], kv[0]))):
        last = s.last_completed_at.date().isoformat() if s.last_completed_at else "—"
        table.add_row(escape(names.get(pid, pid)), str(s.certified_people), str(s.completions), last)
    obj.console.print(table)
