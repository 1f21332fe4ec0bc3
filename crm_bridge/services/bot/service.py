"""``PartnerBot``: the partners' Telegram bot over one application (state store, CRM adapter,
settings): updates in (long polling or the webhook), answers and pushes out through the outbox.

    bot = PartnerBot.for_app(app, engine)
    bot.poll_once()          # getUpdates, answer each, confirm them; the daemon's bot_updates job
    bot.push()               # queue what changed, send what is due; the daemon's bot job

Updates are handled in order; the offset of the last handled one is stored after its replies are
queued, and each chat remembers the last update it handled, so an update replayed after a crash
neither answers twice (reply keys) nor advances a dialogue twice."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.domain.model import Partner
from crm_bridge.errors import CrmBridgeError, StateError
from crm_bridge.ports import TaskSink
from crm_bridge.services.bot.api import BotApi
from crm_bridge.services.bot.conversation import Context, Conversation, Incoming, first_language
from crm_bridge.services.bot.links import LinkCodes
from crm_bridge.services.bot.pushes import FlushResult, Outbox, PushPlanner, broadcast
from crm_bridge.services.intake.service import IntakeService
from crm_bridge.services.portal.partner_view import PartnerPortal
from crm_bridge.store import Store
from crm_bridge.store.bot import BotRepository, Chat
from crm_bridge.store.locks import SqlLockProvider
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.bot")

OFFSET_STATE = "bot:updates"
POLL_LOCK = "partner-bot-poll"


@dataclass
class PartnerBot:
    store: Store
    portal: str
    settings: Any
    api: BotApi | None
    conversation: Conversation
    outbox: Outbox
    planner: PushPlanner
    repo: BotRepository
    links: LinkCodes
    clock: Callable[[], datetime]

    @classmethod
    def for_app(
        cls,
        app: Any,
        intake: IntakeService,
        *,
        api: BotApi | None = None,
        curators: Any = None,
        head: Any = None,
    ) -> PartnerBot:
        """Over ``app`` (``crm_bridge.bootstrap.App``); ``api`` defaults to ``bot.token``/``base_url``."""
        settings, store, portal = app.settings, app.store, app.portal
        cfg = settings.bot
        if api is None and cfg.token is not None:
            api = BotApi(
                cfg.token.get_secret_value(),
                base_url=str(cfg.base_url),
                messages_per_second=cfg.messages_per_second,
                poll_timeout=cfg.poll_timeout,
                bucket=store.bucket,
            )
        repo = BotRepository(store.engine, portal)
        links = LinkCodes(repo, clock=app.clock, hours=cfg.link_code_hours)
        view = PartnerPortal(store, portal, settings, desired_layout_for(settings), clock=app.clock)
        by_key = {c.key: c for c in settings.domain_curators()}
        head_person = head

        def curator_of(partner: Partner) -> Any | None:
            return by_key.get(partner.curator_key or "") or head_person

        tasks = app.adapter if isinstance(app.adapter, TaskSink) else None
        ctx = Context(repo, links, view, intake, tasks, settings, app.clock, curator_of)
        outbox = Outbox(store, portal, repo, app.clock, cfg.per_chat_per_second)
        planner = PushPlanner(
            store, portal, repo, outbox, settings, view.stage_names, view.tier_names, view.overview
        )
        return cls(store, portal, settings, api, Conversation(ctx), outbox, planner, repo, links, app.clock)

    def _require_api(self) -> BotApi:
        if self.api is None:
            raise StateError("bot.token is not set: the partner bot cannot reach Telegram")
        return self.api

    # updates in
    def handle(self, update: dict[str, Any]) -> list[str]:
        """Answer one update (queue the replies); the texts queued. Non-message updates are ignored."""
        message = update.get("message") or {}
        chat = message.get("chat") or {}
        text = message.get("text")
        update_id = int(update.get("update_id", 0))
        if chat.get("type") != "private" or not isinstance(text, str):
            return []  # groups and channels: the bot speaks to one person at a time
        chat_id = str(chat.get("id"))
        language = str((message.get("from") or {}).get("language_code") or "")
        # a new chat speaks the user's Telegram language (the config's locale when it is neither)
        lang = first_language(language, self.settings.locale)
        known = self.repo.chat(chat_id, lang=lang, at=self.clock())
        # the one update that can come again is the last one handled: its offset (polling) or its 200
        # (webhook) was lost in a crash. Not "<=": Telegram restarts update ids at random after a
        # week without updates (getUpdates docs), and those must not be taken for replays.
        if known.last_update is not None and update_id == known.last_update:
            return []
        replies = self.conversation.answer(Incoming(update_id, chat_id, text[:4096], language))
        now = self.clock()
        for index, reply in enumerate(replies):
            self.outbox.queue(f"reply:{chat_id}:{update_id}:{index}", chat_id, reply, "reply")
        self.repo.update_chat(chat_id, now, last_update=update_id)
        return replies

    def poll_once(self, timeout: int | None = None) -> int:
        """One getUpdates round (long polling) on the replica holding the poll lock; every update is
        answered and its replies sent. How many updates were handled (0 when another replica polls)."""
        locks = SqlLockProvider(self.store.engine)
        with ExitStack() as held:
            try:
                held.enter_context(locks.lock(POLL_LOCK, timeout=0.0))
            except StateError:
                return 0  # another replica polls: Telegram allows one getUpdates consumer per bot
            return self._poll(timeout)

    def _poll(self, timeout: int | None) -> int:
        api = self._require_api()
        state = self.store.get_state(self.portal, OFFSET_STATE) or {}
        offset = int(state.get("offset", 0))
        updates = api.get_updates(offset, timeout)
        for update in sorted(updates, key=lambda u: int(u.get("update_id", 0))):
            self.handle(update)
            offset = int(update.get("update_id", 0)) + 1
            self.store.set_state(self.portal, OFFSET_STATE, {"offset": offset})
        if updates:
            self.outbox.flush(api)
        return len(updates)

    # pushes out
    def push(self) -> FlushResult:
        """Queue what changed (stages, tiers, the survey) and send every due message."""
        self.planner.collect(self.clock())
        return self.outbox.flush(self._require_api())

    def flush(self) -> FlushResult:
        return self.outbox.flush(self._require_api())

    def broadcast(
        self, text: str, *, tier: str | None, partner_type: str | None, dry_run: bool = False
    ) -> list[Chat]:
        partners = {p.crm_id: p for p in self.store.partners(self.portal)}
        bid = secrets.token_hex(6)
        return broadcast(
            self.repo,
            None if dry_run else self.outbox,
            partners,
            text,
            tier=tier,
            partner_type=partner_type,
            broadcast_id=bid,
        )

    def answer_question(self, question_id: int, text: str) -> int:
        """Queue the curator's ``text`` to the chat that asked when it is still linked to the same
        partner, else to every chat of that partner; how many chats it goes to."""
        found = next((q for q in self.repo.questions() if q.id == question_id), None)
        if found is None:
            raise LookupError(f"no question {question_id} (see `crm-bridge partners questions`)")
        now = self.clock()
        chats = self.repo.linked(found.partner_id)
        asker = [c for c in chats if c.chat_id == found.chat_id]
        for chat in asker or chats:
            body = words("bot", chat.lang)["answer"].format(question=found.text[:200], answer=text)
            self.outbox.queue(f"answer:{question_id}:{chat.chat_id}", chat.chat_id, body, "answer")
        self.repo.set_question(question_id, answer=text, answered_at=now)
        return len(asker or chats)

    def set_webhook(self, url: str) -> None:
        secret = self.settings.bot.webhook_secret
        self._require_api().set_webhook(url, secret.get_secret_value() if secret else "")

    def close(self) -> None:
        if self.api is not None:
            self.api.close()


def safe_push(bot: PartnerBot) -> FlushResult | None:
    try:
        return bot.push()
    except CrmBridgeError as exc:
        log.error("bot push failed: %s", exc)
        return None
