"""The Bitrix24 emulator driven by an independent client, fast_bitrix24 (issue 17): its ``get_all``
(one counted page, then offset pages packed 50 to a ``batch``), ``call`` with a list (commands batched
by 50), ``get_by_ID``, ``call_batch`` with ``$result`` references and raw keyset paging (``start=-1``,
settings/performance/huge-data.md) must all read the emulator as they read a portal."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from crm_bridge.sandbox.server import Sandbox

fast_bitrix24 = pytest.importorskip("fast_bitrix24")


@pytest.fixture
def portal() -> Iterator[tuple[Sandbox, Any]]:
    with Sandbox("bitrix24", rate_limit=True) as sandbox:  # the client paces itself at 2/s, burst 50
        webhook = sandbox.emulator.config_snippet(sandbox.base_url)["env"]["B24_WEBHOOK_URL"]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # fast_bitrix24 warns when answers disagree with `total`
            yield sandbox, fast_bitrix24.Bitrix(webhook, verbose=False, ssl=False)


def _deals(sandbox: Sandbox, n: int, category: int = 0) -> list[int]:
    seeded = sandbox.emulator.seed(
        {"deals": [{"TITLE": f"Deal {i}", "CATEGORY_ID": category, "OPPORTUNITY": "10.00"} for i in range(n)]}
    )
    return [int(i) for i in seeded["deals"]]


def test_get_all_reads_every_deal_once_through_counted_batches(portal: tuple[Sandbox, Any]) -> None:
    sandbox, bx = portal
    ids = _deals(sandbox, 2_620)
    _deals(sandbox, 30)  # more rows, outside the filter below
    sandbox.log.clear()

    rows = bx.get_all("crm.deal.list", params={"filter": {"<=ID": ids[-1]}, "select": ["ID", "TITLE"]})

    assert sorted(int(r["ID"]) for r in rows) == ids
    assert {tuple(sorted(r)) for r in rows} == {("ID", "TITLE")}
    assert sandbox.request_count() == 3  # the counted first page, then 52 offset pages in 2 batches


def test_call_with_a_list_adds_in_batches_and_get_by_id_reads_them_back(portal: tuple[Sandbox, Any]) -> None:
    sandbox, bx = portal

    added = bx.call(
        "crm.deal.add", [{"fields": {"TITLE": f"fb24 {i}", "OPPORTUNITY": "5.00"}} for i in range(75)]
    )
    got = bx.get_by_ID("crm.deal.get", [int(i) for i in added])

    assert len(added) == 75 and len(set(added)) == 75
    assert sorted(d["TITLE"] for d in got.values()) == sorted(f"fb24 {i}" for i in range(75))
    assert sandbox.counts().get("POST batch") == 2 + 2  # 75 adds and 75 gets, 50 per batch


def test_keyset_pages_with_start_minus_one_skip_the_count_and_walk_every_id(
    portal: tuple[Sandbox, Any],
) -> None:
    sandbox, bx = portal
    ids = _deals(sandbox, 130)
    seen: list[int] = []
    answers: list[dict[str, Any]] = []
    last = 0
    while True:
        params = {"order": {"ID": "ASC"}, "filter": {">ID": last}, "select": ["ID"], "start": -1}
        answer = bx.call("crm.deal.list", params, raw=True)
        answers.append(answer)
        page = [int(r["ID"]) for r in answer["result"]]
        seen += page
        if len(page) < 50:
            break
        last = page[-1]

    assert seen == ids
    assert all(a["total"] == 0 and "next" not in a for a in answers)  # no count, no offset to follow
    assert [len(a["result"]) for a in answers] == [50, 50, 30]


def test_call_batch_resolves_result_references_between_commands(portal: tuple[Sandbox, Any]) -> None:
    sandbox, bx = portal
    ids = _deals(sandbox, 3)

    answer = bx.call_batch(
        {
            "halt": 0,
            "cmd": {
                "top": "crm.deal.list?order[ID]=DESC&select[]=ID&start=-1",
                "deal": "crm.deal.get?id=$result[top][0][ID]",
            },
        }
    )

    assert int(answer["top"][0]["ID"]) == ids[-1]
    assert int(answer["deal"]["ID"]) == ids[-1] and answer["deal"]["TITLE"] == "Deal 2"
