"""Wire tests of how a Bitrix24 task push cut off midway finds the tasks it already made (tasks.py):
the task rows in either key case, and lookup answers that hold no task list."""

from __future__ import annotations

from datetime import UTC, datetime

import responses
from b24_support import MemoryKV
from b24_wire_support import HOOK, _adapter, _batch
from test_bitrix24_wire_tasks import _commands

from crm_bridge.ports import TaskDraft, WriteOutcome

DEADLINE = datetime(2026, 12, 31, 20, 59, 59, tzinfo=UTC)
IN_MOSCOW = "2026-12-31T23:59:59+03:00"  # the same moment as DEADLINE


@responses.activate
def test_pending_tasks_are_recognised_by_either_key_case_and_empty_answers_find_none() -> None:
    kv = MemoryKV()
    for ext in ("q1", "q2", "q3", "q4", "q5"):
        kv.set("bitrix24.task:" + ext, {"pending": True})
    found = {
        "c0": {"tasks": [{"ID": "91", "XML_ID": "q1", "TITLE": "Renamed by a manager"}]},
        "c1": {"tasks": [{"id": "92", "title": "Call B", "deadline": IN_MOSCOW}]},
        "c2": {"tasks": [{"id": "93", "deadline": IN_MOSCOW}]},
        "c3": {},
        "c4": [],
    }
    responses.post(HOOK + "batch", json=_batch(found))
    responses.post(HOOK + "batch", json=_batch({"c0": {"task": {"id": "94"}}, "c1": {"task": {"id": "95"}}}))
    drafts = [
        TaskDraft("q1", "Call A", "", "7", DEADLINE),
        TaskDraft("q2", "Call B", "", "7", DEADLINE),
        TaskDraft("q3", "", "", "7", DEADLINE),
        TaskDraft("q4", "Call D", "", "7", DEADLINE),
        TaskDraft("q5", "Call E", "", "7", DEADLINE),
    ]

    out = _adapter(kv).create_tasks(drafts)

    assert out == [
        WriteOutcome("q1", "91", created=False),
        WriteOutcome("q2", "92", created=False),
        WriteOutcome("q3", "93", created=False),
        WriteOutcome("q4", "94", created=True),
        WriteOutcome("q5", "95", created=True),
    ]
    assert [p["fields[XML_ID]"] for _, p in _commands(responses.calls[1])] == ["q4", "q5"]


@responses.activate
def test_a_task_row_with_another_xml_id_is_not_ours_even_with_our_title_and_deadline() -> None:
    kv = MemoryKV()
    kv.set("bitrix24.task:q6", {"pending": True})
    found = {
        "c0": {"tasks": [{"ID": "96", "XML_ID": "someone-else", "TITLE": "Call F", "DEADLINE": IN_MOSCOW}]}
    }
    responses.post(HOOK + "batch", json=_batch(found))
    responses.post(HOOK + "batch", json=_batch({"c0": {"task": {"id": "97"}}}))

    [out] = _adapter(kv).create_tasks([TaskDraft("q6", "Call F", "", "7", DEADLINE)])

    assert out == WriteOutcome("q6", "97", created=True)
