"""The event path on amoCRM and Bitrix24, in process: ``crm-bridge provision`` registers the amoCRM
webhook (``POST /api/v4/webhooks``) to the receiver URL; the amoCRM emulator's form-encoded hooks for
new leads are queued by the running HTTP port and one event-worker run gives each lead exactly one
task, reading the leads in a few listing pages. On Bitrix24 as a local application (OAuth), provision
binds offline events; the worker fetches them (event.offline.get, clear=0), stores them, then clears
them (event.offline.clear), and each new deal gets exactly one task; the portal refuses offline
methods on a webhook URL."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from events_world import TOKEN, World, build
from hubspot_flow import free_port
from sandbox_fixture import MakeSandbox

from crm_bridge.cli import main
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.web.server import WebServer

PATIENCE = 120.0  # flush() waits for the deliveries up to this; only so a broken build cannot hang


def _post(url: str, token: str, body: Any) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (the local sandbox)
        return json.loads(answer.read())


@pytest.fixture
def amo(tmp_path: Path, make_sandbox: MakeSandbox) -> Iterator[tuple[World, Sandbox, WebServer]]:
    sb = make_sandbox("amocrm")
    port = free_port()
    world = build(tmp_path, "amocrm", sb, public=f"http://127.0.0.1:{port}")
    server = WebServer(world.web, "127.0.0.1", port).start()
    yield world, sb, server
    server.stop()
    world.close()


def test_amocrm_hooks_registered_by_provision_give_each_new_lead_one_task(
    amo: tuple[World, Sandbox, WebServer], capsys: pytest.CaptureFixture[str]
) -> None:
    world, sb, _ = amo
    config = str(world.app.settings.source)
    assert main(["--config", config, "provision"]) == 0
    assert "Events: amoCRM webhook" in capsys.readouterr().out
    hooks = list(sb.emulator.state.webhooks.values())
    assert [h["destination"] for h in hooks] == [
        f"http://127.0.0.1:{world.app.settings.events.public_url.port}/v1/events/{TOKEN}"
    ]  # type: ignore[union-attr]
    assert "add_lead" in hooks[0]["settings"] and "add_task" not in hooks[0]["settings"]

    catalog = world.app.adapter.catalog()  # type: ignore[attr-defined]
    ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
    ref = catalog.field(FieldEntity.LEAD, "partner_ref")
    sb.emulator.seed(
        {
            "users": [
                {"id": i, "name": f"User {i}", "email": f"u{i}@example.com"}
                for i in (8000001, 8000002, 8000003)
            ]
        }
    )
    company = sb.emulator.seed(
        {
            "companies": [
                {
                    "name": "Vector",
                    "custom_fields_values": [
                        {"field_id": int(ptype.code), "values": [{"enum_id": ptype.options["reseller"]}]}
                    ],
                }
            ]
        }
    )["companies"][0]
    token = sb.config_snippet()["env"]["AMOCRM_ACCESS_TOKEN"]
    leads = [
        {
            "name": f"Lead {i}",
            "pipeline_id": int(catalog.funnels["leads"]),
            "custom_fields_values": [{"field_id": int(ref.code), "values": [{"value": company}]}],
            "_embedded": {"companies": [{"id": company}]},
        }
        for i in range(120)
    ]
    ids: list[int] = []
    for start in range(0, len(leads), 50):
        answer = _post(f"{sb.base_url}/api/v4/leads", token, leads[start : start + 50])
        ids += [int(lead["id"]) for lead in answer["_embedded"]["leads"]]
    sb.emulator.deliver.flush(PATIENCE)
    assert world.queued() == 120

    sb.log.clear()
    run = world.engine.events()
    assert run.events == 120 and world.queued() == 0
    tasks: dict[int, int] = {}
    for task in sb.emulator.state.records.get("tasks", {}).values():
        if task.get("entity_type") == "leads":
            tasks[int(task["entity_id"])] = tasks.get(int(task["entity_id"]), 0) + 1
    assert {i: tasks.get(i, 0) for i in ids} == {i: 1 for i in ids}
    lead_reads = sum(n for e, n in sb.counts().items() if e == "GET /api/v4/leads")
    assert 0 < lead_reads <= 5  # 120 events, one listing of the changed leads (250 a page)
    # the worker's own writes (responsible user, tasks) raised hooks; they are dropped as ours
    sb.emulator.deliver.flush(PATIENCE)
    assert world.queued() == 0


@pytest.fixture
def b24_oauth(tmp_path: Path, make_sandbox: MakeSandbox) -> Iterator[tuple[World, Sandbox]]:
    sb = make_sandbox("bitrix24", emulator_options={"domain": "127.0.0.1"})
    world = build(tmp_path, "bitrix24-oauth", sb, public=None)
    yield world, sb
    world.close()


def test_bitrix24_offline_events_are_stored_before_they_are_cleared_and_give_each_deal_one_task(
    b24_oauth: tuple[World, Sandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    world, sb = b24_oauth
    assert main(["--config", str(world.app.settings.source), "provision"]) == 0
    assert "Bitrix24 offline events" in capsys.readouterr().out
    bound = sorted(t["events"][0] for t in sb.emulator.events.targets if t["kind"] == "offline")
    assert bound == sorted(
        ["ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE", "ONCRMCOMPANYADD", "ONCRMCOMPANYUPDATE"]
    )

    catalog = world.app.adapter.catalog()  # type: ignore[attr-defined]
    ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
    ref = catalog.field(FieldEntity.LEAD, "partner_ref")
    company = sb.emulator.seed({"companies": [{"TITLE": "Vector", ptype.code: ptype.options["reseller"]}]})[
        "companies"
    ][0]
    webhook = sb.config_snippet()["env"]["B24_WEBHOOK_URL"]
    commands = {
        f"d{i}": "crm.deal.add?"
        + urllib.parse.urlencode(
            {
                "fields[TITLE]": f"Lead {i}",
                "fields[CATEGORY_ID]": catalog.funnels["leads"],
                f"fields[{ref.code}]": company,
            }
        )
        for i in range(70)
    }
    ids: list[str] = []
    for chunk in (dict(list(commands.items())[:50]), dict(list(commands.items())[50:])):
        answer = _post(f"{webhook}batch.json", "", {"halt": 0, "cmd": chunk})
        ids += [str(v) for v in answer["result"]["result"].values()]
    assert len(sb.emulator.events.offline) == 70

    sb.log.clear()
    run = world.engine.events()
    assert run.pulled == 70 and run.events == 70
    methods = [e["endpoint"] for e in sb.requests() if "event.offline" in e["endpoint"]]
    assert methods[:2] == [m for m in methods[:2] if "event.offline.get" in m or "event.offline.clear" in m]
    assert any("event.offline.clear" in m for m in methods)
    assert b24_tasks(sb, ids) == {d: 1 for d in ids}
    # our own responsible-user writes raised ONCRMDEALUPDATE: the next run re-reads, writes nothing
    world.engine.events()
    assert b24_tasks(sb, ids) == {d: 1 for d in ids}
    assert not [e for e in sb.emulator.events.offline if e["process_id"] is None]


def b24_tasks(sb: Sandbox, deals: list[str]) -> dict[str, int]:
    state = sb.emulator.dump()
    tasks = list(state["tasks"].values()) if isinstance(state["tasks"], dict) else state["tasks"]
    counts: dict[str, int] = {}
    for task in tasks:
        for binding in task.get("ufCrmTask") or []:
            counts[binding] = counts.get(binding, 0) + 1
    return {d: counts.get(f"D_{d}", 0) for d in deals}


def test_bitrix24_refuses_offline_event_methods_on_a_webhook_url(make_sandbox: MakeSandbox) -> None:
    sb = make_sandbox("bitrix24")
    webhook = sb.config_snippet()["env"]["B24_WEBHOOK_URL"]
    for method in ("event.offline.get", "event.offline.clear", "event.bind"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(
                f"{webhook}{method}.json",
                "",
                {"event": "ONCRMDEALADD", "event_type": "offline", "process_id": "x"},
            )
        assert refused.value.code == 403
        assert json.loads(refused.value.read())["error"] == "WRONG_AUTH_TYPE"


def test_with_a_russian_config_provision_and_doctor_say_how_bitrix24_events_come_in_russian(
    b24_oauth: tuple[World, Sandbox], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # the doctor's table on one line per check
    world, _ = b24_oauth
    path = Path(str(world.app.settings.source))
    path.write_text(path.read_text(encoding="utf-8").replace("locale: en", "locale: ru"), encoding="utf-8")

    assert main(["--config", str(path), "provision"]) == 0
    events_line = [line for line in capsys.readouterr().out.splitlines() if line.startswith("События:")]
    assert events_line == [
        "События: офлайн-события Битрикс24 (типов событий: 5; их забирает обработчик событий)."
    ]
    main(["--config", str(path), "doctor"])
    assert (
        "офлайн-события (их забирает обработчик событий; публичный URL не нужен)" in capsys.readouterr().out
    )
