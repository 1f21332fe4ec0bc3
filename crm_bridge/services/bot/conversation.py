"""What the partner bot answers to one message: linking and unlinking, the lead-registration
dialogue (checked field by field with the intake's own rules, then the intake service the API and the
portal use), my leads, my tier, my rewards, the leaderboard, training, push opt-outs, the survey,
and questions (the FAQ, else a task for the partner's curator).

Every answer is computed for the partner the chat is linked to (``bot_chats.partner_id``, set only by
redeeming a link code); nothing in a message can name another partner."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmBridgeError
from crm_bridge.ports import Entity, RecordRef, TaskDraft, TaskSink
from crm_bridge.services.bot.links import LinkCodes
from crm_bridge.services.intake.service import IntakeService, LeadSubmission
from crm_bridge.services.portal.partner_view import PartnerPortal
from crm_bridge.store.bot import BotRepository, Chat
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.bot")

PUSH_KINDS = ("stage", "tier", "plan", "news", "survey")
LEAD_STEPS = ("customer_name", "email", "phone", "tax_id", "amount", "comment", "confirm")
YES = frozenset({"yes", "y", "да", "д", "ok", "ок", "+"})
NO = frozenset({"no", "n", "нет", "н", "-"})
SKIP = frozenset({"-", "—", "skip", "нет", "пропустить"})
_COMMAND = re.compile(r"^/([a-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.S)


@dataclass(frozen=True, slots=True)
class Incoming:
    update_id: int
    chat_id: str
    text: str
    language: str  # the user's Telegram language_code ("" when absent)


@dataclass
class Context:
    """What the conversation reads and writes through."""

    repo: BotRepository
    links: LinkCodes
    partners: PartnerPortal
    intake: IntakeService
    tasks: TaskSink | None
    settings: Any
    clock: Callable[[], datetime]
    curator_of: Callable[[Partner], Any | None]  # the curator (or head) to ask, with crm_user_id

    def survey_round(self, now: datetime) -> str:
        days = self.settings.bot.survey_every_days or 90
        index = int(now.timestamp() // (days * 86400))
        return f"r{index}"


def first_language(code: str, default: str) -> str:
    code = (code or "").lower()
    return "ru" if code.startswith("ru") else "en" if code.startswith("en") else default


class Conversation:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def answer(self, msg: Incoming) -> list[str]:
        """The replies to ``msg`` (the chat's state is updated as a side effect)."""
        ctx, now = self.ctx, self.ctx.clock()
        self._msg = msg
        chat = ctx.repo.chat(msg.chat_id, lang=first_language(msg.language, ctx.settings.locale), at=now)
        t = words("bot", chat.lang)
        command, arg = self._command(msg.text)
        if command in ("start", "link") and arg:
            return [self._link(chat, arg.strip(), now)]
        if chat.partner_id is None:
            return [t["unlinked"]]
        partner = ctx.partners.partner(chat.partner_id)
        if partner is None:
            return [t["not_found"]]
        if command == "cancel":
            ctx.repo.update_chat(chat.chat_id, now, dialogue=None)
            return [t["cancelled"]]
        if chat.dialogue and command is None:
            return self._continue(chat, partner, msg, now)
        if command is not None:
            if chat.dialogue:
                ctx.repo.update_chat(chat.chat_id, now, dialogue=None)
            return self._run(command, arg or "", chat, partner, now)
        return self._question(chat, partner, msg.text.strip(), now)

    @staticmethod
    def _command(text: str) -> tuple[str | None, str | None]:
        match = _COMMAND.match(text.strip())
        return (match.group(1), match.group(2)) if match else (None, None)

    # linking
    def _link(self, chat: Chat, code: str, now: datetime) -> str:
        t = words("bot", chat.lang)
        if chat.partner_id is not None:
            current = self.ctx.partners.partner(chat.partner_id)
            return t["link_other"].format(partner=current.name if current else chat.partner_id)
        partner_id = self.ctx.links.redeem(code, chat.chat_id, chat.lang, now)
        if partner_id is None:
            return t["link_bad"]
        partner = self.ctx.partners.partner(partner_id)
        return t["link_done"].format(partner=partner.name if partner else partner_id)

    # commands
    def _run(self, command: str, arg: str, chat: Chat, partner: Partner, now: datetime) -> list[str]:
        ctx, t = self.ctx, words("bot", chat.lang)
        if command in ("start", "help"):
            return [t["help"]]
        if command == "unlink":
            ctx.repo.update_chat(chat.chat_id, now, partner_id=None, dialogue=None)
            return [t["unlinked_done"].format(partner=partner.name)]
        if command == "lead":
            # the lead's idempotency key is fixed when the dialogue begins: a replayed "yes" finds it
            key = f"{chat.chat_id}:{self._msg.update_id}"
            start = {"flow": "lead", "step": "customer_name", "values": {}, "key": key}
            ctx.repo.update_chat(chat.chat_id, now, dialogue=start)
            return [t["ask_customer_name"]]
        if command == "leads":
            return [self._leads(chat, partner)]
        if command == "tier":
            return [self._tier(chat, partner, now)]
        if command == "rewards":
            return [self._rewards(chat, partner)]
        if command == "top":
            return [self._top(chat, partner)]
        if command == "training":
            return [t["training_done"] if partner.training_completed else t["training_todo"]]
        if command in ("mute", "unmute"):
            kind = arg.strip().lower()
            if kind not in PUSH_KINDS:
                return [t["bad_kind"]]
            optouts = set(chat.optouts)
            (optouts.add if command == "mute" else optouts.discard)(kind)
            ctx.repo.update_chat(chat.chat_id, now, optouts=optouts)
            return [t["muted" if command == "mute" else "unmuted"].format(kind=kind)]
        if command == "lang":
            lang = arg.strip().lower()
            if lang not in ("ru", "en"):
                return ["/lang ru | /lang en"]
            ctx.repo.update_chat(chat.chat_id, now, lang=lang)
            return [words("bot", lang)["lang_done"]]
        if command == "feedback":
            ctx.repo.update_chat(
                chat.chat_id, now, dialogue={"flow": "survey", "step": "score", "values": {}}
            )
            return [t["survey_score"]]
        return [t["help"]]

    def _leads(self, chat: Chat, partner: Partner) -> str:
        t = words("bot", chat.lang)
        rows = self.ctx.partners.leads(partner.crm_id)[:20]
        if not rows:
            return t["no_leads"]
        lines = [t["leads_title"]]
        for row in rows:
            stage = row.stage_name if row.state == "open" else t.get(f"state_{row.state}", row.stage_name)
            lines.append(t["lead_line"].format(customer=row.customer_name, stage=stage or row.state))
        return "\n".join(lines)

    def _tier(self, chat: Chat, partner: Partner, now: datetime) -> str:
        t = words("bot", chat.lang)
        metrics = words("tier_metrics", chat.lang)
        view = self.ctx.partners.tier(partner.crm_id, now)
        lines = [t["tier"].format(tier=view.tier_name)]
        if view.next_tier is None:
            lines.append(t["tier_top"])
        else:
            lines.append(t["tier_next"].format(next=view.next_name, days=view.window_days))
            for th in view.to_next:
                missing = t["tier_missing"].format(missing=_num(th.missing)) if not th.met else " ✓"
                name = metrics.get(th.metric, th.metric)
                lines.append(
                    t["tier_line"].format(
                        metric=name, actual=_num(th.actual), minimum=_num(th.minimum), missing=missing
                    )
                )
        return "\n".join(lines)

    def _rewards(self, chat: Chat, partner: Partner) -> str:
        t = words("bot", chat.lang)
        period = self.ctx.partners.periods(1)[0]
        try:
            statement, currency = self.ctx.partners.statement(partner.crm_id, period)
        except CrmBridgeError as exc:  # no reward rules, or rules that cannot price a tier
            log.warning("bot: /rewards for partner %s: %s", partner.crm_id, exc)
            return t["rewards_unavailable"]
        if statement is None:
            return t["rewards_none"].format(period=period.key)
        lines = [t["rewards"].format(period=period.key, total=_num(statement.total), currency=currency)]
        names = {lv.key: lv.name.get(chat.lang) or lv.key for lv in self.ctx.settings.tiers.levels}
        for line in statement.lines:
            what = line.describe(chat.lang, names)
            lines.append(t["rewards_line"].format(what=what, amount=_num(line.amount), currency=currency))
        return "\n".join(lines)

    def _top(self, chat: Chat, partner: Partner) -> str:
        t = words("bot", chat.lang)
        period = self.ctx.partners.periods(1)[0]
        try:
            rows = self.ctx.partners.leaderboard(partner.crm_id, period)
        except CrmBridgeError as exc:
            log.warning("bot: /top for partner %s: %s", partner.crm_id, exc)
            return t["rewards_unavailable"]
        lines = [t["top_title"].format(period=period.key)]
        for row in rows[:10] + [r for r in rows[10:] if r["me"]]:
            name = row["name"] or t["top_hidden"].format(rank=row["rank"])
            me = t["top_me"] if row["me"] else ""
            lines.append(t["top_line"].format(rank=row["rank"], name=name, points=_num(row["points"]), me=me))
        return "\n".join(lines)

    # dialogues
    def _continue(self, chat: Chat, partner: Partner, msg: Incoming, now: datetime) -> list[str]:
        dialogue = dict(chat.dialogue or {})
        if dialogue.get("flow") == "survey":
            return self._survey(chat, partner, dialogue, msg.text.strip(), now)
        return self._lead_step(chat, partner, dialogue, msg, now)

    def _lead_step(
        self, chat: Chat, partner: Partner, dialogue: dict[str, Any], msg: Incoming, now: datetime
    ) -> list[str]:
        ctx, t = self.ctx, words("bot", chat.lang)
        step = str(dialogue.get("step", "customer_name"))
        values: dict[str, str] = dict(dialogue.get("values") or {})
        text = msg.text.strip()
        if step == "confirm":
            answer = text.casefold()
            if answer in NO:
                ctx.repo.update_chat(chat.chat_id, now, dialogue=None)
                return [t["cancelled"]]
            if answer not in YES:
                return [t["bad_confirm"]]
            return self._submit(chat, partner, dialogue, values, now)
        value = "" if (step != "customer_name" and text.casefold() in SKIP) else text
        problem = _field_problem(step, value, values, ctx.intake)
        if problem:
            return [t[f"bad_{step}"]]
        values[step] = value
        nxt = LEAD_STEPS[LEAD_STEPS.index(step) + 1]
        if nxt == "amount" and not (values.get("email") or values.get("phone") or values.get("tax_id")):
            ctx.repo.update_chat(chat.chat_id, now, dialogue={**dialogue, "step": "email", "values": values})
            return [t["need_contact"]]
        dialogue = {**dialogue, "step": nxt, "values": values}
        ctx.repo.update_chat(chat.chat_id, now, dialogue=dialogue)
        if nxt == "confirm":
            summary = "\n".join(f"- {values[k]}" for k in LEAD_STEPS[:-1] if values.get(k))
            return [t["ask_confirm"].format(summary=summary)]
        return [t[f"ask_{nxt}"]]

    def _submit(
        self, chat: Chat, partner: Partner, dialogue: dict[str, Any], values: dict[str, str], now: datetime
    ) -> list[str]:
        ctx, t = self.ctx, words("bot", chat.lang)
        fields, _ = ctx.intake.check_fields(values)
        if fields is None:  # cannot happen after the step checks; start over rather than guess
            ctx.repo.update_chat(chat.chat_id, now, dialogue=None)
            return [t["cancelled"]]
        # one dialogue, one lead: its key was fixed when the dialogue began (a resent "yes" finds it)
        key = str(dialogue.get("key") or chat.chat_id)
        sub = LeadSubmission(f"bot:{partner.crm_id}:{key}", partner.crm_id, fields, "telegram")
        try:
            (outcome,) = ctx.intake.submit([sub], now=now)
        except CrmBridgeError as exc:
            log.warning("bot: lead registration failed: %s", exc)
            ctx.repo.update_chat(chat.chat_id, now, dialogue=dialogue)
            return [t["lead_unavailable"]]
        ctx.repo.update_chat(chat.chat_id, now, dialogue=None)
        customer = fields.customer_name
        if outcome.status in ("rejected", "failed"):
            return [t["lead_refused"].format(error=outcome.refused_because)]
        lead = outcome.lead_crm_id or sub.external_id
        said = t["lead_created" if outcome.status == "created" else "lead_existing"].format(
            customer=customer, lead=lead
        )
        return [said, t["lead_conflict"]] if outcome.conflict else [said]

    def _survey(
        self, chat: Chat, partner: Partner, dialogue: dict[str, Any], text: str, now: datetime
    ) -> list[str]:
        ctx, t = self.ctx, words("bot", chat.lang)
        if dialogue.get("step") == "score":
            if not text.isdigit() or not 0 <= int(text) <= 10:
                return [t["survey_bad"]]
            new = {"flow": "survey", "step": "comment", "values": {"score": int(text)}}
            ctx.repo.update_chat(chat.chat_id, now, dialogue=new)
            return [t["survey_comment"]]
        score = int((dialogue.get("values") or {}).get("score", 0))
        comment = "" if text.casefold() in SKIP else text[:2000]
        ctx.repo.add_feedback(partner.crm_id, chat.chat_id, ctx.survey_round(now), score, comment, now)
        ctx.repo.update_chat(chat.chat_id, now, dialogue=None)
        return [t["survey_done"]]

    # questions
    def _question(self, chat: Chat, partner: Partner, text: str, now: datetime) -> list[str]:
        ctx, t = self.ctx, words("bot", chat.lang)
        if not text:
            return [t["help"]]
        if text.isdigit() and 0 <= int(text) <= 10:  # an answer to the survey's push
            return self._survey(chat, partner, {"flow": "survey", "step": "score"}, text, now)
        found = faq_answer(ctx.settings.bot.faq, text, chat.lang)
        if found:
            return [t["faq_answer"].format(answer=found)]
        curator = ctx.curator_of(partner)
        if ctx.tasks is None or curator is None:
            return [t["question_failed"]]
        question_id = ctx.repo.add_question(partner.crm_id, chat.chat_id, text[:4000], now)
        draft = TaskDraft(
            f"bot-question:{question_id}",
            f"Вопрос партнёра {partner.name} в Telegram"[:255],
            f'{text[:4000]}\n\nОтветить: crm-bridge partners answer {question_id} "…"',
            curator.crm_user_id,
            now + timedelta(hours=ctx.settings.bot.question_task_hours),
            RecordRef(Entity.PARTNER, partner.crm_id),
        )
        try:
            (outcome,) = ctx.tasks.create_tasks([draft])
        except CrmBridgeError as exc:
            log.warning("bot: question %s: the curator's task failed: %s", question_id, exc)
            return [t["question_failed"]]
        if not outcome.ok:
            return [t["question_failed"]]
        ctx.repo.set_question(question_id, task_crm_id=outcome.crm_id)
        return [t["question_passed"]]


def faq_answer(faq: Any, text: str, lang: str) -> str | None:
    """The answer of the FAQ entry with the most keywords in ``text`` (case-insensitive), or None."""
    folded = text.casefold()
    best, hits = None, 0
    for entry in faq:
        count = sum(1 for word in entry.keywords if word.casefold() in folded)
        if count > hits:
            best, hits = entry, count
    if best is None:
        return None
    return str(best.answer_ru if lang == "ru" else best.answer_en)


def _field_problem(step: str, value: str, values: Mapping[str, str], intake: IntakeService) -> bool:
    """Whether ``value`` for ``step`` breaks the intake's rule for that field (the same
    ``IntakeService.check_fields`` the API, the CSV import and the portal use; the contact rule is
    checked across steps)."""
    probe = {"customer_name": values.get("customer_name") or "x", "phone": "+70000000000", step: value}
    _, problems = intake.check_fields(probe)
    return any(p.field == step for p in problems)


def _num(value: Decimal | int | float) -> str:
    d = Decimal(value).quantize(Decimal("0.01"))
    text = f"{d:,.2f}".replace(",", " ")
    return text[:-3] if text.endswith(".00") else text
