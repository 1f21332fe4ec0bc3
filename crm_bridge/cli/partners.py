"""``crm-bridge partners``: the partner portal's sign-in and the partner lifecycle by hand.

Portal: ``invite PARTNER`` prints a personal link (and its key) once, ``invitations`` lists them (never
the secrets), ``revoke ID`` ends one and every browser signed in with it.
Lifecycle: ``score`` (the 6.1 selection scorecard of the prospects), ``onboard`` (partners whose agreement
is signed), ``run`` (the daemon's lifecycle job once). Onboarding also runs by itself in the daemon's
``lifecycle`` job unless ``onboarding.automatic: false``.
Telegram bot: ``invite PARTNER --telegram`` (a one-time chat link code), ``unlink``, ``broadcast`` (news to
the linked chats), ``questions`` and ``answer`` (the questions the bot's FAQ could not answer)."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from crm_bridge.cli.output import CliContext
from crm_bridge.domain.model import QUALIFICATION_CRITERIA
from crm_bridge.domain.scorecard import criterion_name
from crm_bridge.errors import UsageError


def _engine(obj: CliContext):  # type: ignore[no-untyped-def]
    from crm_bridge.daemon.cycle import make_notifier
    from crm_bridge.daemon.engine import Engine

    app = obj.app()
    return app, Engine(app, notifier=make_notifier(app))


def _link(obj: CliContext, key: str) -> str:
    from crm_bridge.daemon.engine import portal_public_url
    from crm_bridge.services.partners.portal_invite import signin_link

    return signin_link(portal_public_url(obj.settings()), key)


@click.group("partners")
def command() -> None:
    """Partner portal access (invite, invitations, revoke), the partner lifecycle (score, onboard, run)
    and the partner Telegram bot (invite --telegram, unlink, broadcast, questions, answer)."""


def _bot_code(obj: CliContext, partner_id: str) -> None:
    from crm_bridge.services.bot.links import LinkCodes
    from crm_bridge.store.bot import BotRepository

    app = obj.app()
    cfg = obj.settings().bot
    codes = LinkCodes(BotRepository(app.store.engine, app.portal), clock=app.clock, hours=cfg.link_code_hours)
    code = codes.issue(partner_id)
    obj.console.print(
        f"Telegram link code (one use, valid {cfg.link_code_hours} h, until {code.expires_at:%Y-%m-%d %H:%M} "
        "UTC). Shown once:",
        highlight=False,
    )
    link = code.deep_link(cfg.username)
    if link:
        click.echo(f"  bot link: {link}")
    click.echo(f"  in the bot: /link {code.code}")


@command.command("invite")
@click.argument("partner")
@click.option("--label", default="", help="A note kept with the invitation (who it was sent to).")
@click.option(
    "--telegram", is_flag=True, help="Only a one-time code linking a Telegram chat to the partner's bot."
)
@click.pass_obj
def invite(obj: CliContext, partner: str, label: str, telegram: bool) -> None:
    """Issue a personal sign-in link to the partner portal for PARTNER (its CRM id or exact name).

    The link and its key are shown once and only a hash is kept: send the link to the partner over a
    channel you trust. It works for portal.invitation_days days, until `partners revoke`. With
    bot.enabled a one-time Telegram link code comes with it; --telegram issues only that code."""
    from crm_bridge.services.portal.access import PortalAccess, find_partner  # the state store

    app = obj.app()
    found = find_partner(app.store.partners(app.portal), partner)
    if telegram:
        obj.console.print(f"Partner {escape(found.name)} (id {found.crm_id}).", highlight=False)
        _bot_code(obj, found.crm_id)
        return
    issued = PortalAccess.for_app(app).invite(found.crm_id, label=label)
    days = obj.settings().portal.invitation_days
    obj.console.print(
        f"Invitation [bold]{issued.invitation_id}[/bold] for {escape(found.name)} (id {found.crm_id}), "
        f"valid {days} days, until {issued.expires_at:%Y-%m-%d %H:%M} UTC. Shown once:",
        highlight=False,
    )
    click.echo(f"  link: {_link(obj, issued.key)}")
    click.echo(f"  key:  {issued.key}")
    obj.console.print(f"Revoke with: crm-bridge partners revoke {issued.invitation_id}", highlight=False)
    if obj.settings().bot.enabled:
        _bot_code(obj, found.crm_id)


@command.command("invitations")
@click.option("--partner", default=None, help="Only this partner (CRM id or exact name).")
@click.pass_obj
def invitations(obj: CliContext, partner: str | None) -> None:
    """Every portal invitation: partner, issued, expires, last used, revoked (never the key)."""
    from crm_bridge.services.portal.access import PortalAccess, find_partner  # the state store

    app = obj.app()
    partners = list(app.store.partners(app.portal))
    names = {p.crm_id: p.name for p in partners}
    only = find_partner(partners, partner).crm_id if partner else None
    table = Table(title="Partner portal invitations", title_justify="left")
    for header in ("id", "partner", "issued", "expires", "last used", "state"):
        table.add_column(header)
    now = app.clock()
    for inv in PortalAccess.for_app(app).invitations(only):
        state = "revoked" if inv.revoked_at else ("expired" if inv.expires_at <= now else "live")
        table.add_row(
            inv.invitation_id,
            escape(names.get(inv.partner_id, inv.partner_id)),
            f"{inv.created_at:%Y-%m-%d}",
            f"{inv.expires_at:%Y-%m-%d}",
            f"{inv.last_used_at:%Y-%m-%d %H:%M}" if inv.last_used_at else "-",
            state,
        )
    obj.console.print(table)


@command.command("revoke")
@click.argument("invitation_id")
@click.pass_obj
def revoke(obj: CliContext, invitation_id: str) -> None:
    """Revoke the invitation INVITATION_ID (see `partners invitations`); browsers signed in with it are
    signed out at their next click."""
    from crm_bridge.services.portal.access import PortalAccess  # the state store

    app = obj.app()
    record = PortalAccess.for_app(app).revoke(invitation_id)
    obj.console.print(
        f"Revoked invitation {record.invitation_id} of partner {record.partner_id}.", highlight=False
    )


_ACTIONS = {
    "moved": ("[green]card moved[/green]", "[green]карточка перемещена[/green]"),
    "would move": ("would move (dry run)", "будет перемещена (проба)"),
    "waiting": ("[yellow]not fully scored[/yellow]", "[yellow]оценены не все критерии[/yellow]"),
    "decided": ("decided earlier", "решено ранее"),
    "error": ("[red]error[/red]", "[red]ошибка[/red]"),
}


@command.command("score")
@click.option("--dry-run", is_flag=True, help="Show the verdicts; write nothing to the CRM.")
@click.pass_obj
def score(obj: CliContext, dry_run: bool) -> None:
    """The selection scorecard of every prospect in the acquisition funnel's first stages: criteria,
    weighted score, verdict; passed cards move to negotiation, failed ones to "not a fit"."""
    from crm_bridge.services.partners.scorecard import ScorecardService

    app, engine = _engine(obj)
    settings = obj.settings()
    locale = str(settings.locale)
    ru = locale == "ru"
    run = ScorecardService(engine.partner_lifecycle()).run(app.clock(), dry_run=dry_run)
    sel = settings.selection
    weights = sel.full_weights()
    order = ", ".join(
        f"{criterion_name(c, locale)} ×{weights[c].normalize():f}" for c in QUALIFICATION_CRITERIA
    )
    title = "Отбор партнёров (6.1)" if ru else "Partner selection scorecard (6.1)"
    mark = f"проходной балл {sel.pass_mark} %" if ru else f"pass mark {sel.pass_mark} %"
    table = Table(title=f"{title}, {mark}", title_justify="left", caption=order, caption_justify="left")
    heads = (
        ("партнёр", "оценки", "%", "решение", "действие")
        if ru
        else ("partner", "scores", "%", "verdict", "action")
    )
    for i, head in enumerate(heads):
        table.add_column(head, justify="right" if i == 2 else "left", overflow="fold")
    for row in run.rows:
        scores = "·".join(str(row.partner.qualification.get(c, "–")) for c in QUALIFICATION_CRITERIA)
        result = row.result
        verdict = "—" if result is None else result.verdict.value
        action = _ACTIONS.get(row.action, (row.action, row.action))[1 if ru else 0]
        why = escape(row.error or (result.reason if result else ""))
        table.add_row(
            escape(row.partner.name),
            scores,
            "—" if result is None or result.score is None else f"{result.score}",
            f"{verdict}\n[dim]{why}[/dim]" if why else verdict,
            action,
        )
    if not run.rows:
        obj.console.print(
            "No prospects in the acquisition funnel's scoring stages (selection.score_stages); "
            "run sync first."
        )
        return
    obj.console.print(table)


@command.command("onboard")
@click.option("--dry-run", is_flag=True, help="Show who would be onboarded and by whom; write nothing.")
@click.pass_obj
def onboard(obj: CliContext, dry_run: bool) -> None:
    """Onboard every partner whose agreement is signed: curator, partner since, first tier, the
    curator's checklist as CRM tasks, the card moved to onboarding. (The daemon does it by itself
    while onboarding.automatic is true.)"""
    from crm_bridge.services.partners.onboarding import OnboardingService

    app, engine = _engine(obj)
    run = OnboardingService(engine.partner_lifecycle()).run(app.clock(), dry_run=dry_run)
    if not run.rows:
        obj.console.print(
            "Nobody to onboard: no acquisition card at onboarding.trigger_stages (run sync first)."
        )
        return
    curators = {c.key: c.name for c in obj.settings().curators}
    ru = obj.settings().locale == "ru"
    table = Table(title="Адаптация новых партнёров" if ru else "Onboarding", title_justify="left")
    heads = (
        ("партнёр", "куратор", "как выбран", "уровень", "задачи", "итог")
        if ru
        else ("partner", "curator", "how chosen", "tier", "tasks", "result")
    )
    for name in heads:
        table.add_column(name, overflow="fold")
    for row in run.rows:
        table.add_row(
            escape(row.partner.name),
            escape(curators.get(row.curator_key or "", row.curator_key or "—")),
            escape(row.why),
            row.tier,
            str(row.steps),
            row.action if not row.error else f"[red]{escape(row.error)}[/red]",
        )
    obj.console.print(table)


def _bot(obj: CliContext) -> Any:
    from crm_bridge.daemon.engine import Engine

    return Engine(obj.app()).partner_bot()


@command.command("unlink")
@click.argument("partner")
@click.pass_obj
def unlink(obj: CliContext, partner: str) -> None:
    """Unlink every Telegram chat of PARTNER from the partner bot (they see nothing of it any more)."""
    from crm_bridge.services.portal.access import find_partner  # the state store
    from crm_bridge.store.bot import BotRepository

    app = obj.app()
    found = find_partner(app.store.partners(app.portal), partner)
    count = BotRepository(app.store.engine, app.portal).unlink_partner(found.crm_id, app.clock())
    obj.console.print(f"Unlinked {count} Telegram chat(s) of {escape(found.name)}.", highlight=False)


@command.command("broadcast")
@click.argument("text")
@click.option("--tier", default=None, help="Only partners of this tier key (e.g. gold).")
@click.option(
    "--type",
    "partner_type",
    type=click.Choice(["distributor", "reseller", "integrator", "referral"]),
    default=None,
    help="Only partners of this type.",
)
@click.option("--dry-run", is_flag=True, help="Count the chats it would go to; send nothing.")
@click.pass_obj
def broadcast_news(
    obj: CliContext, text: str, tier: str | None, partner_type: str | None, dry_run: bool
) -> None:
    """News or an offer to the partners' Telegram chats (linked, not muted for news), queued in the
    outbox and sent by `crm-bridge run` within Telegram's limits, each chat once."""
    settings = obj.settings()
    if not text.strip() or len(text) > 4000:
        raise UsageError("the news text: 1 to 4000 characters")
    levels = [lv.key for lv in settings.tiers.levels]
    if tier is not None and tier not in levels:
        raise UsageError(f"--tier {tier!r}: not a tier key of the config (one of {', '.join(levels)})")
    bot = _bot(obj)
    chats = bot.broadcast(text.strip(), tier=tier, partner_type=partner_type, dry_run=dry_run)
    partners = len({c.partner_id for c in chats})
    verb = "Would send" if dry_run else "Queued"
    obj.console.print(f"{verb} to {len(chats)} chat(s) of {partners} partner(s).", highlight=False)


@command.command("questions")
@click.option("--open", "open_only", is_flag=True, help="Only the unanswered ones.")
@click.pass_obj
def questions(obj: CliContext, open_only: bool) -> None:
    """Questions partners asked the bot that the FAQ did not answer (each is a task for the curator)."""
    from crm_bridge.store.bot import BotRepository

    app = obj.app()
    names = {p.crm_id: p.name for p in app.store.partners(app.portal)}
    table = Table(title="Partner questions", title_justify="left")
    for header in ("id", "partner", "asked", "question", "task", "answered"):
        table.add_column(header, overflow="fold")
    for q in BotRepository(app.store.engine, app.portal).questions(open_only=open_only):
        table.add_row(
            str(q.id),
            escape(names.get(q.partner_id, q.partner_id)),
            f"{q.asked_at:%Y-%m-%d %H:%M}",
            escape(q.text[:200]),
            q.task_crm_id or "-",
            f"{q.answered_at:%Y-%m-%d %H:%M}" if q.answered_at else "-",
        )
    obj.console.print(table)


@command.command("run")
@click.pass_obj
def run_once(obj: CliContext) -> None:
    """The daemon's lifecycle job once: scorecard, onboarding, training push, plans, exclusive access."""
    app, engine = _engine(obj)
    result = engine.lifecycle()
    if engine.notifier is not None:
        engine.notify()
    obj.console.print(result.describe(obj.settings().locale))


@command.command("answer")
@click.argument("question_id", type=int)
@click.argument("text")
@click.pass_obj
def answer(obj: CliContext, question_id: int, text: str) -> None:
    """The curator's answer to question QUESTION_ID: it goes to the partner's Telegram chat."""
    if not text.strip():
        raise UsageError("the answer is empty")
    try:
        count = _bot(obj).answer_question(question_id, text.strip())
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    obj.console.print(f"Answer to question {question_id} queued for {count} chat(s).", highlight=False)
