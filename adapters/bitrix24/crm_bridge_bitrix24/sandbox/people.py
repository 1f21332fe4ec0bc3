"""Employees and notifications: user.get, user.current, im.notify.system.add, im.notify.personal.add and
im.notify. References: b24restdocs api-reference/user/user-get.md, chats/notifications/im-notify*.md.
"""

from __future__ import annotations

from typing import Any

from crm_bridge_bitrix24.sandbox.crm import Ctx
from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.query import Answer, matches, need_dict, page, sort_rows
from crm_bridge_bitrix24.sandbox.state import B24Error, fmt_time

ATTACH_MAX = 60_000


def _select(user: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """``select`` with masks ``*`` and ``UF_*``; unknown names are skipped without an error."""
    if not select:
        return dict(user)
    wanted: list[str] = []
    for name in (str(s).upper() for s in select):
        if name == "*":
            wanted.extend(user)
        elif name == "UF_*":
            wanted.extend(k for k in user if k.startswith("UF_"))
        elif name in user:
            wanted.append(name)
    return {k: user[k] for k in dict.fromkeys(["ID", *wanted])}


def user_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    """Employees only (no bots, e-mail users or integrators); ``FILTER`` takes the list-filter prefixes."""
    filters = need_dict(params, "filter", pick(params, "filter"))
    users = [u for u in ctx.state.users.values() if matches(u, filters, lambda r, n: r.get(n))]
    sort = str(pick(params, "sort", default="ID") or "ID").upper()
    order = str(pick(params, "order", default="ASC") or "ASC").upper()
    sort_rows(users, {sort: order if order in ("ASC", "DESC") else "ASC"}, lambda r, n: r.get(n))
    select = pick(params, "select")
    select = list(select.values()) if isinstance(select, dict) else select
    return page(users, pick(params, "start", default=0), lambda u: _select(u, select))


def department_get(ctx: Ctx, params: dict[str, Any]) -> Answer:
    """Departments filtered by top-level ID/NAME/PARENT/UF_HEAD (departments/department-get.md)."""
    keys = ("ID", "NAME", "SORT", "PARENT", "UF_HEAD")
    filters = {k: v for k in keys if (v := pick(params, k)) not in (None, "")}
    rows = [d for d in ctx.state.departments if matches(d, filters, lambda r, n: r.get(n))]
    sort = str(pick(params, "sort", default="SORT") or "SORT").upper()
    order = str(pick(params, "order", default="ASC") or "ASC").upper()
    sort_rows(rows, {sort: order if order in ("ASC", "DESC") else "ASC"}, lambda r, n: r.get(n))
    return page(rows, pick(params, "START", default=0), dict)


def user_current(ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer(dict(ctx.state.users[ctx.user_id]), records=1)


def notify(kind: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    """Store a notification for USER_ID; ``false`` when there is no such user (the docs: "If the
    notification was not created, it may return false"). A TAG replaces earlier notes with that tag."""
    if kind == "auto":  # im.notify: TYPE USER (default) or SYSTEM
        kind = "system" if str(pick(params, "TYPE", default="USER")).upper() == "SYSTEM" else "personal"
    raw_user = pick(params, "USER_ID", "to")
    try:
        user_id = int(str(raw_user))
    except (TypeError, ValueError):
        user_id = 0
    if user_id <= 0:
        raise B24Error(400, "USER_ID_EMPTY", "User ID can't be empty")
    message = str(pick(params, "MESSAGE", default="") or "").strip()
    if not message:
        raise B24Error(400, "MESSAGE_EMPTY", "Message can't be empty")
    attach = pick(params, "ATTACH")
    if attach is not None and len(str(attach)) > ATTACH_MAX:
        raise B24Error(400, "ATTACH_OVERSIZE", "You have exceeded the maximum allowable size of attach")
    if user_id not in ctx.state.users:
        return Answer(False)
    tag = pick(params, "TAG")
    if tag:
        ctx.state.notifications[:] = [n for n in ctx.state.notifications if n.get("tag") != str(tag)]
    note_id = ctx.state.next_id("notify")
    ctx.state.notifications.append(
        {
            "id": note_id,
            "type": kind,
            "user_id": user_id,
            "from": 0 if kind == "system" else ctx.user_id,
            "message": message,
            "message_out": pick(params, "MESSAGE_OUT"),
            "tag": str(tag) if tag else None,
            "sub_tag": pick(params, "SUB_TAG"),
            "date": fmt_time(ctx.now),
        }
    )
    return Answer(note_id, records=1)
