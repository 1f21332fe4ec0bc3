"""Repository of the partners' Telegram bot: link codes, chats, questions, survey answers
(``crm_bridge.store.bot_schema``), and the claim that sends each bot message at most once (the outbox
row goes pending -> sending in its own transaction before the Bot API call)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update

from crm_bridge.store.bot_schema import bot_chats, bot_feedback, bot_link_codes, bot_questions
from crm_bridge.store.db import state_errors, write_transaction
from crm_bridge.store.schema import outbox
from crm_bridge.store.upsert import insert_missing

SENDING = "sending"  # claimed by a sender: never sent again (the Bot API has no idempotency key)


@dataclass(frozen=True, slots=True)
class LinkCode:
    code_id: str
    partner_id: str
    salt: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by_chat: str | None = None


@dataclass(frozen=True, slots=True)
class Chat:
    chat_id: str
    partner_id: str | None
    lang: str
    optouts: frozenset[str]
    dialogue: dict[str, Any] | None
    linked_at: datetime | None = None
    last_update: int | None = None


@dataclass(frozen=True, slots=True)
class Question:
    id: int
    partner_id: str
    chat_id: str
    text: str
    asked_at: datetime
    task_crm_id: str | None
    answer: str | None
    answered_at: datetime | None


def _chat(r: Any) -> Chat:
    opt = frozenset(k for k in (r.optouts or "").split(",") if k)
    return Chat(
        r.chat_id,
        r.partner_id,
        r.lang,
        opt,
        dict(r.dialogue) if r.dialogue else None,
        r.linked_at,
        r.last_update,
    )


class BotRepository:
    def __init__(self, engine: Engine, portal: str) -> None:
        self._engine = engine
        self._portal = portal

    # link codes
    def add_code(self, code: LinkCode) -> None:
        values = {name: getattr(code, name) for name in LinkCode.__dataclass_fields__}
        with state_errors("saving a bot link code"), write_transaction(self._engine) as conn:
            conn.execute(insert(bot_link_codes).values(portal=self._portal, **values))

    def code(self, code_id: str) -> LinkCode | None:
        t = bot_link_codes
        with state_errors("reading a bot link code"), self._engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.portal == self._portal, t.c.code_id == code_id)).first()
        if row is None:
            return None
        return LinkCode(**{n: row._mapping[n] for n in LinkCode.__dataclass_fields__})

    def redeem(self, code_id: str, chat_id: str, lang: str, at: datetime) -> str | None:
        """Use the code (once: the row is updated only while unused and unexpired) and link the chat to
        its partner, in one transaction. The partner id, or None when the code was taken already."""
        t = bot_link_codes
        cond = and_(
            t.c.portal == self._portal, t.c.code_id == code_id, t.c.used_at.is_(None), t.c.expires_at > at
        )
        with state_errors("linking a chat"), write_transaction(self._engine) as conn:
            done = conn.execute(update(t).where(cond).values(used_at=at, used_by_chat=chat_id)).rowcount
            if not done:
                return None
            partner_id = conn.execute(
                select(t.c.partner_id).where(t.c.portal == self._portal, t.c.code_id == code_id)
            ).scalar_one()
            self._ensure(conn, chat_id, lang, at)
            c = bot_chats
            conn.execute(
                update(c)
                .where(c.c.portal == self._portal, c.c.chat_id == chat_id)
                .values(partner_id=partner_id, code_id=code_id, linked_at=at, dialogue=None, updated_at=at)
            )
        return str(partner_id)

    def codes(self, partner_id: str | None = None) -> list[LinkCode]:
        t = bot_link_codes
        query = select(t).where(t.c.portal == self._portal).order_by(t.c.created_at)
        if partner_id is not None:
            query = query.where(t.c.partner_id == partner_id)
        with state_errors("reading bot link codes"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [LinkCode(**{n: r._mapping[n] for n in LinkCode.__dataclass_fields__}) for r in rows]

    # chats
    def _ensure(self, conn: Any, chat_id: str, lang: str, at: datetime) -> None:
        row = {"portal": self._portal, "chat_id": chat_id, "lang": lang, "optouts": "", "updated_at": at}
        conn.execute(insert_missing(conn, bot_chats, ["portal", "chat_id"]), [row])

    def chat(self, chat_id: str, *, lang: str, at: datetime) -> Chat:
        """The chat, created (unlinked, in ``lang``) on its first message."""
        c = bot_chats
        with state_errors("reading a bot chat"), write_transaction(self._engine) as conn:
            self._ensure(conn, chat_id, lang, at)
            row = conn.execute(select(c).where(c.c.portal == self._portal, c.c.chat_id == chat_id)).one()
        return _chat(row)

    def update_chat(self, chat_id: str, at: datetime, **values: Any) -> None:
        """Set ``partner_id``, ``lang``, ``optouts`` (a set) or ``dialogue`` of the chat."""
        if "optouts" in values:
            values["optouts"] = ",".join(sorted(values["optouts"]))
        c = bot_chats
        with state_errors("updating a bot chat"), write_transaction(self._engine) as conn:
            conn.execute(
                update(c)
                .where(c.c.portal == self._portal, c.c.chat_id == chat_id)
                .values(updated_at=at, **values)
            )

    def unlink_partner(self, partner_id: str, at: datetime) -> int:
        """Unlink every chat of the partner (the admin's unlink); how many were linked."""
        c = bot_chats
        with state_errors("unlinking bot chats"), write_transaction(self._engine) as conn:
            result = conn.execute(
                update(c)
                .where(c.c.portal == self._portal, c.c.partner_id == partner_id)
                .values(partner_id=None, dialogue=None, updated_at=at)
            )
        return int(result.rowcount or 0)

    def linked(self, partner_id: str | None = None) -> list[Chat]:
        c = bot_chats
        query = select(c).where(c.c.portal == self._portal, c.c.partner_id.is_not(None)).order_by(c.c.chat_id)
        if partner_id is not None:
            query = query.where(c.c.partner_id == partner_id)
        with state_errors("reading bot chats"), self._engine.connect() as conn:
            return [_chat(r) for r in conn.execute(query).all()]

    # questions
    def add_question(self, partner_id: str, chat_id: str, text: str, at: datetime) -> int:
        with state_errors("saving a question"), write_transaction(self._engine) as conn:
            result = conn.execute(
                insert(bot_questions).values(
                    portal=self._portal, partner_id=partner_id, chat_id=chat_id, text=text, asked_at=at
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def set_question(self, question_id: int, **values: Any) -> None:
        q = bot_questions
        with state_errors("updating a question"), write_transaction(self._engine) as conn:
            conn.execute(update(q).where(q.c.portal == self._portal, q.c.id == question_id).values(**values))

    def questions(self, *, open_only: bool = False) -> list[Question]:
        q = bot_questions
        query = select(q).where(q.c.portal == self._portal).order_by(q.c.id)
        if open_only:
            query = query.where(q.c.answered_at.is_(None))
        with state_errors("reading questions"), self._engine.connect() as conn:
            return [
                Question(**{n: r._mapping[n] for n in Question.__dataclass_fields__})
                for r in conn.execute(query)
            ]

    # survey
    def add_feedback(
        self, partner_id: str, chat_id: str, rnd: str, score: int, comment: str, at: datetime
    ) -> None:
        row = {
            "portal": self._portal,
            "partner_id": partner_id,
            "chat_id": chat_id,
            "round": rnd,
            "score": score,
            "comment": comment,
            "at": at,
        }
        with state_errors("saving feedback"), write_transaction(self._engine) as conn:
            conn.execute(insert_missing(conn, bot_feedback, ["portal", "chat_id", "round"]), [row])

    def feedback(self) -> list[dict[str, Any]]:
        f = bot_feedback
        with state_errors("reading feedback"), self._engine.connect() as conn:
            rows = conn.execute(select(f).where(f.c.portal == self._portal).order_by(f.c.id)).all()
        return [dict(r._mapping) for r in rows]

    def answered_round(self, chat_id: str, rnd: str) -> bool:
        f = bot_feedback
        with state_errors("reading feedback"), self._engine.connect() as conn:
            found = conn.execute(
                select(func.count()).where(
                    f.c.portal == self._portal, f.c.chat_id == chat_id, f.c.round == rnd
                )
            ).scalar_one()
        return bool(found)

    # the send claim
    def claim(self, item_id: int) -> bool:
        """Take the pending outbox item for sending; False when another sender (or an earlier run that
        died mid-send) has it. Committed before the Bot API call: a crash after it never resends."""
        with state_errors("claiming a bot message"), write_transaction(self._engine) as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == "pending")
                .values(status=SENDING)
            )
        return bool(result.rowcount)

    def release(self, item_id: int) -> None:
        """Back to pending: the Bot API refused the message before sending it (429, 5xx before the send)."""
        with state_errors("releasing a bot message"), write_transaction(self._engine) as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == SENDING)
                .values(status="pending")
            )

    def postpone(self, item_id: int, at: datetime) -> None:
        """Leave the pending item for later (its chat's budget is spent) without counting an attempt."""
        with state_errors("postponing a bot message"), write_transaction(self._engine) as conn:
            conn.execute(update(outbox).where(outbox.c.id == item_id).values(next_attempt_at=at))

    def stuck(self, kind: str) -> list[int]:
        """Items left in ``sending`` (a sender died between its claim and its receipt): not resent."""
        with state_errors("reading the outbox"), self._engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.id).where(
                    outbox.c.portal == self._portal, outbox.c.kind == kind, outbox.c.status == SENDING
                )
            ).all()
        return [int(r[0]) for r in rows]
