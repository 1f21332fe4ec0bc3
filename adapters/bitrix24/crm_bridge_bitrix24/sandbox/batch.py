"""The ``batch`` method: up to 50 ``method?query`` commands in one HTTP request, run in order, with
``$result[key][field]`` references, ``halt`` and per-command errors.
Reference: b24restdocs settings/how-to-call-rest-api/batch.md.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crm_bridge_bitrix24.sandbox.auth import Caller
from crm_bridge_bitrix24.sandbox.crm import Ctx
from crm_bridge_bitrix24.sandbox.params import parse_php_query, pick
from crm_bridge_bitrix24.sandbox.state import B24Error, fmt_time

if TYPE_CHECKING:
    from crm_bridge_bitrix24.sandbox.emulator import Bitrix24Emulator

MAX_COMMANDS = 50
_REF = re.compile(r"\$result\[([^\]]+)\]((?:\[[^\]]*\])*)")
_INDEX = re.compile(r"\[([^\]]*)\]")


def _resolve(match: re.Match[str], results: dict[str, Any]) -> str:
    value: Any = results.get(match.group(1))
    for part in _INDEX.findall(match.group(2)):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            value = None
    if value is None or isinstance(value, (dict, list)):
        return ""
    return quote(str(value), safe="")


def _failure(faults: Any, key: str, index: int) -> dict[str, str] | None:
    plan = getattr(faults, "batch_fail", None) or {}
    if not plan:
        return None
    every = int(plan.get("every", 0) or 0)
    if key in [str(k) for k in plan.get("keys", [])] or (every and (index + 1) % every == 0):
        return {
            "error": str(plan.get("error", "ERROR_CORE")),
            "error_description": str(plan.get("description", "Injected failure")),
        }
    return None


def run_batch(
    emu: Bitrix24Emulator, ctx: Ctx, caller: Caller, params: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """Execute a batch; returns the ``result`` object and the number of records touched. More than 50
    commands refuse the whole batch with HTTP 400 ERROR_BATCH_LENGTH_EXCEEDED (_includes/system-errors.md)."""
    halt = str(pick(params, "halt", default="0")).lower() in ("1", "true", "y")
    raw = pick(params, "cmd")
    if not raw or not isinstance(raw, (dict, list)):
        raise B24Error(400, "INVALID_ARG_VALUE", "Parameter 'cmd' is empty")
    as_list = isinstance(raw, list)
    commands: list[tuple[Any, Any]] = list(enumerate(raw)) if isinstance(raw, list) else list(raw.items())
    if len(commands) > MAX_COMMANDS:
        raise B24Error(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
    results: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    nexts: dict[str, Any] = {}
    times: dict[str, Any] = {}
    records = 0
    for index, (raw_key, command) in enumerate(commands):
        key = str(raw_key)
        if halt and errors:
            break
        injected = _failure(emu.faults, key, index)
        if injected is not None:
            errors[key] = injected
            continue
        text = _REF.sub(lambda m: _resolve(m, results), str(command))
        method, _, query = text.partition("?")
        method = method.strip().lower()
        method = method[:-5] if method.endswith(".json") else method
        try:
            answer, sub = emu.call(method, parse_php_query(query), caller, ctx.now)
        except B24Error as err:
            errors[key] = err.body()
            continue
        ctx.events.extend(sub.events)
        results[key] = answer.result
        records += answer.records
        if answer.total is not None:
            totals[key] = answer.total
        if answer.next is not None:
            nexts[key] = answer.next
        times[key] = {
            "start": ctx.now,
            "finish": ctx.now + answer.cost,
            "duration": answer.cost,
            "processing": answer.cost,
            "date_start": fmt_time(ctx.now),
            "date_finish": fmt_time(ctx.now + answer.cost),
        }

    def shape(values: dict[str, Any]) -> Any:
        if not values:
            return []  # PHP's empty array
        if as_list and list(values) == [str(i) for i in range(len(values))]:
            return list(values.values())
        return values

    return {
        "result": shape(results),
        "result_error": shape(errors),
        "result_total": shape(totals),
        "result_next": shape(nexts),
        "result_time": shape(times),
    }, records
