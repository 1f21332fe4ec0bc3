"""Messages the partner bot sends: every reply and push is an outbox item (kind ``bot``) keyed so the
same event never queues twice; ``flush`` sends due items within Telegram's limits (about one message a
second per chat: the store's bucket per chat; 30 a second overall: the HTTP layer's budget), and
claims each item before the Bot API call, so a sender killed mid-send never sends it again.

Events found by ``PushPlanner.collect``: a lead of a linked partner changed stage, was won or lost
(against the stages last seen, kept in the state store per partner); a tier change (the tier history's
new rows); the periodic survey. The head's news go through ``broadcast``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crm_bridge.domain.access import unlocked
from crm_bridge.domain.model import Partner, StageKind
from crm_bridge.errors import CrmBridgeError
from crm_bridge.services.bot.api import BotApi
from crm_bridge.services.partners.access import policy_from
from crm_bridge.store import Store
from crm_bridge.store.bot import BotRepository, Chat
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.bot")

KIND = "bot"  # outbox kind
BACKOFF = (30, 120, 600, 1800, 3600)


@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    postponed: int = 0  # the chat's budget was spent: later
    uncertain: int = 0  # the answer was lost after the request left: not resent


@dataclass
class Outbox:
    """Queue and send the bot's messages."""

    store: Store
    portal: str
    repo: BotRepository
    clock: Callable[[], datetime]
    per_chat_per_second: float = 1.0
    counters: dict[str, int] = field(default_factory=dict)

    def queue(self, key: str, chat_id: str, text: str, kind: str) -> int:
        """Queue ``text`` for ``chat_id`` once per ``key`` (a key queued before is a no-op)."""
        payload = {"chat_id": chat_id, "text": text, "push": kind}
        return self.store.outbox.enqueue(self.portal, KIND, key, payload, now=self.clock())

    def flush(self, api: BotApi, *, limit: int = 500) -> FlushResult:
        now = self.clock()
        result = FlushResult()
        for item in self.store.outbox.due(self.portal, KIND, now=now, limit=limit):
            chat_id = str(item.payload["chat_id"])
            wait = self.store.bucket.take(
                f"partner-bot:chat:{chat_id}",
                capacity=1.0,
                drain_per_second=self.per_chat_per_second,
                now=now.timestamp(),
            )
            if wait > 0:
                self.repo.postpone(item.id, now + timedelta(seconds=wait))
                result.postponed += 1
                continue
            if not self.repo.claim(item.id):
                continue  # another replica has it
            sent = api.send_message(chat_id, str(item.payload["text"]))
            if sent.ok:
                self.store.outbox.mark_done(item.id, {"message_id": sent.message_id}, now=self.clock())
                result.sent += 1
            elif sent.permanent:
                self.store.outbox.mark_failed(item.id, sent.error, None)
                result.failed += 1
            elif sent.retry_after is not None or sent.answered:
                # refused before sending (429 flood control, or an error answer): safe to send later
                delay = sent.retry_after or BACKOFF[min(item.attempts, len(BACKOFF) - 1)]
                self.store.outbox.mark_failed(item.id, sent.error, now + timedelta(seconds=delay))
                self.repo.release(item.id)
                result.retrying += 1
            else:
                # no answer: Telegram may have delivered it; the Bot API has no idempotency key
                self.store.outbox.mark_failed(
                    item.id, f"not resent (may have been delivered): {sent.error}", None
                )
                result.uncertain += 1
        for name, count in vars(result).items():
            self.counters[name] = self.counters.get(name, 0) + count
        return result


@dataclass
class PushPlanner:
    store: Store
    portal: str
    repo: BotRepository
    outbox: Outbox
    settings: Any
    stage_names: dict[str, str]
    tier_names: dict[str, str]
    overview: Callable[[str], Any] | None = None  # PartnerPortal.overview: the month's plan progress

    def collect(self, now: datetime) -> None:
        """Queue pushes for what changed since the last run."""
        chats = self.repo.linked()
        by_partner: dict[str, list[Chat]] = {}
        for chat in chats:
            by_partner.setdefault(str(chat.partner_id), []).append(chat)
        for partner_id, mine in sorted(by_partner.items()):
            partner = self.store.records.partner(self.portal, partner_id)
            if partner is None:
                continue
            self._leads(partner, mine)
            self._tiers(partner, mine)
            self._plan(partner, mine, now)
        self._survey(chats, now)

    def _leads(self, partner: Partner, chats: list[Chat]) -> None:
        name = f"bot:seen:{partner.crm_id}"
        seen = self.store.get_state(self.portal, name)
        current = {
            lead.crm_id: (lead.stage, lead.stage_kind.value, lead.customer_name or lead.title)
            for lead in self.store.leads(self.portal, partner_id=partner.crm_id)
            if lead.partner_id == partner.crm_id
        }
        if seen is not None:  # the first look only takes the baseline: no history is pushed
            stages = seen.get("stages", {})
            for lead_id, (stage, kind, customer) in sorted(current.items()):
                before = stages.get(lead_id)
                if before is None or before == stage:
                    continue
                for chat in chats:
                    if "stage" in chat.optouts:
                        continue
                    t = words("bot", chat.lang)
                    if kind == StageKind.WON.value:
                        text = t["push_won"].format(customer=customer)
                    elif kind == StageKind.LOST.value:
                        text = t["push_lost"].format(customer=customer)
                    else:
                        text = t["push_stage"].format(
                            customer=customer, stage=self.stage_names.get(stage, stage)
                        )
                    self.outbox.queue(f"stage:{lead_id}:{stage}:{chat.chat_id}", chat.chat_id, text, "stage")
        # stored after the pushes are queued: a crash in between queues them again, and their keys
        # make that a no-op
        self.store.set_state(self.portal, name, {"stages": {k: v[0] for k, v in current.items()}})

    def _tiers(self, partner: Partner, chats: list[Chat]) -> None:
        name = f"bot:tiers:{partner.crm_id}"
        seen = self.store.get_state(self.portal, name)
        history = self.store.tier_history(self.portal, partner.crm_id)
        last = max((h.id for h in history), default=0)
        if seen is not None:
            levels = [lv.key for lv in self.settings.tiers.levels]
            for change in (h for h in history if h.id > int(seen.get("last", 0))):
                up = (
                    levels.index(change.to_tier) > levels.index(change.from_tier)
                    if (change.to_tier in levels and change.from_tier in levels)
                    else True
                )
                for chat in chats:
                    if "tier" in chat.optouts:
                        continue
                    t = words("bot", chat.lang)
                    gained = _exclusive(self.settings, change.from_tier, change.to_tier, t)
                    text = t["push_tier_up" if up else "push_tier_down"].format(
                        tier=self.tier_names.get(change.to_tier or "", change.to_tier or "—"),
                        was=self.tier_names.get(change.from_tier or "", change.from_tier or "—"),
                        gained=gained,
                    )
                    self.outbox.queue(f"tier:{change.id}:{chat.chat_id}", chat.chat_id, text, "tier")
        self.store.set_state(self.portal, name, {"last": last})

    def _plan(self, partner: Partner, chats: list[Chat], now: datetime) -> None:
        """Once a week (ISO week), the month's plan progress, when the partner has a plan."""
        if self.overview is None:
            return
        wanted = [c for c in chats if "plan" not in c.optouts]
        if not wanted:
            return
        view = self.overview(partner.crm_id)
        if view is None or not view.plan:
            return
        year, week, _ = now.isocalendar()
        for chat in wanted:
            t = words("bot", chat.lang)
            names = words("tier_metrics", chat.lang)
            lines = "; ".join(
                f"{names.get(g.target, g.target)} {g.fulfilment if g.fulfilment is not None else 0:.0f}%"
                for g in view.plan
            )
            text = t["push_plan"].format(period=view.month.key, lines=lines)
            self.outbox.queue(f"plan:{year}-W{week}:{chat.chat_id}", chat.chat_id, text, "plan")

    def _survey(self, chats: Iterable[Chat], now: datetime) -> None:
        days = self.settings.bot.survey_every_days
        if not days:
            return
        rnd = f"r{int(now.timestamp() // (days * 86400))}"
        for chat in chats:
            if "survey" in chat.optouts or self.repo.answered_round(chat.chat_id, rnd):
                continue
            text = words("bot", chat.lang)["survey_ask"]
            self.outbox.queue(f"survey:{rnd}:{chat.chat_id}", chat.chat_id, text, "survey")


def _exclusive(settings: Any, was: str | None, now: str | None, t: Any) -> str:
    """ " You now have access to exclusive deals" when the new tier unlocks exclusive access (the
    ``access`` section: regions, products, materials or events) and the old one did not (and the
    reverse); "" when both or neither do."""
    policy = policy_from(settings)
    before, after = not unlocked(policy, was).is_empty(), not unlocked(policy, now).is_empty()
    if after and not before:
        return str(t["tier_exclusive_gained"])
    if before and not after:
        return str(t["tier_exclusive_lost"])
    return ""


def broadcast(
    repo: BotRepository,
    outbox: Outbox | None,
    partners: dict[str, Partner],
    text: str,
    *,
    tier: str | None,
    partner_type: str | None,
    broadcast_id: str,
) -> list[Chat]:
    """The linked chats (not opted out of news) of partners of ``tier`` and ``partner_type``; with an
    ``outbox`` each gets the news once (key ``news:<broadcast_id>:<chat>``); None: a dry run."""
    chosen: list[Chat] = []
    for chat in repo.linked():
        partner = partners.get(str(chat.partner_id))
        if partner is None or "news" in chat.optouts:
            continue
        if tier is not None and partner.tier != tier:
            continue
        # PartnerType is a StrEnum: the member equals its value ("reseller")
        if partner_type is not None and partner.type != partner_type:
            continue
        chosen.append(chat)
        if outbox is not None:
            body = words("bot", chat.lang)["push_news"].format(text=text)
            outbox.queue(f"news:{broadcast_id}:{chat.chat_id}", chat.chat_id, body, "news")
    return chosen


def safe(fn: Callable[[], Any], what: str) -> Any:
    try:
        return fn()
    except CrmBridgeError as exc:
        log.error("bot: %s failed: %s", what, exc)
        return None
