"""The partner lifecycle (issue 14) through the CLI against the Bitrix24 sandbox: `partners score`,
`partners onboard`, `plans import/show`, `training import/webhook/show`, `partners run` — what lands on
the portal's companies, deals and tasks, and which writes each step makes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_engine_bitrix24 import cli, writes

from crm_bridge.bootstrap import bootstrap
from crm_bridge.config import load_settings
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.sandbox.server import Sandbox

CONFIG = """
locale: en
timezone: UTC
crm:
  kind: bitrix24
  bitrix24:
    webhook_url: ${{B24_WEBHOOK_URL}}
    rate_limit: {{burst: 10000, per_second: 10000}}
state:
  url: {state_url}
head: {{name: Head, crm_user_id: 1}}
curators:
  - {{key: anna, name: Anna, crm_user_id: 1, partner_types: [reseller]}}
  - {{key: boris, name: Boris, crm_user_id: 2, partner_types: [integrator]}}
tiers:
  levels:
    - {{key: bronze, name: Bronze}}
    - {{key: silver, name: Silver, min_won_deals: 2}}
selection: {{min_each: 2}}
onboarding:
  curator_rule: partner_type
  checklist:
    - {{key: call, title: "{{partner}}: welcome call", due_days: 1}}
    - {{key: plan, title: "{{partner}}: agree the plan", due_days: 7}}
training:
  partner_domains: {{integra.ru: "{integra}"}}
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("bitrix24") as sb:
        yield sb


def _write(tmp_path: Path, sandbox: Sandbox, integra: str = "0") -> Path:
    path = tmp_path / "config.yaml"
    state = f"sqlite:///{tmp_path / 'state.db'}"
    path.write_text(textwrap.dedent(CONFIG.format(state_url=state, integra=integra)), encoding="utf-8")
    (tmp_path / ".env").write_text(f"B24_WEBHOOK_URL={sandbox.config_snippet()['env']['B24_WEBHOOK_URL']}\n")
    return path


def _seed(sandbox: Sandbox, config: Path) -> dict[str, Any]:
    with bootstrap(load_settings(config)) as app:
        catalog = app.adapter.catalog()  # type: ignore[attr-defined]
    ptype = catalog.field(FieldEntity.PARTNER, "partner_type")
    score = {
        c: catalog.field(FieldEntity.PARTNER, f"score_{c}").code
        for c in ("values_fit", "audience_overlap", "reputation", "track_record", "scalability")
    }

    def company(name: str, kind: str, values: tuple[int, ...]) -> dict[str, Any]:
        return {
            "TITLE": name,
            ptype.code: ptype.options[kind],
            **dict(zip(score.values(), values, strict=False)),
        }

    ids = sandbox.emulator.seed(
        {
            "companies": [
                company("Good Fit", "reseller", (5, 4, 4, 3, 3)),
                company("Too Small", "reseller", (5, 5, 5, 5, 1)),
                company("Integra", "integrator", (4, 4, 4, 4, 4)),
            ]
        }
    )["companies"]
    good, small, integra = (str(i) for i in ids)
    ref = catalog.field(FieldEntity.DEAL, "partner_ref")
    acquisition = catalog.funnels["acquisition"]
    cards = sandbox.emulator.seed(
        {
            "deals": [
                {
                    "TITLE": f"{pid}: acquisition",
                    "CATEGORY_ID": acquisition,
                    "STAGE_ID": catalog.stage_code("acquisition", stage),
                    ref.code: pid,
                }
                for pid, stage in (
                    (good, "first_contact"),
                    (small, "identification"),
                    (integra, "agreement_signed"),
                )
            ]
        }
    )["deals"]
    sandbox.advance(2)
    return {
        "good": good,
        "small": small,
        "integra": integra,
        "cards": [str(c) for c in cards],
        "catalog": catalog,
    }


def _company(sandbox: Sandbox, crm_id: str) -> dict[str, Any]:
    return next(c for c in sandbox.emulator.dump()["records"]["company"] if str(c["ID"]) == crm_id)


def _deal(sandbox: Sandbox, crm_id: str) -> dict[str, Any]:
    return next(d for d in sandbox.emulator.dump()["records"]["deal"] if str(d["ID"]) == crm_id)


def test_the_lifecycle_through_the_cli_on_the_bitrix24_sandbox(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, sandbox)
    assert cli(config, capsys, "provision")[0] == 0
    net = _seed(sandbox, config)
    config = _write(tmp_path, sandbox, net["integra"])
    catalog = net["catalog"]
    assert cli(config, capsys, "sync")[0] == 0
    good_card, small_card, integra_card = net["cards"]

    # selection scorecard: one batch of company updates and one of card moves
    sandbox.log.clear()
    code, out = cli(config, capsys, "partners", "score")
    assert code == 0, out
    assert "Good Fit" in out and "79.0" in out and "passed" in out and "failed" in out
    assert sorted(writes(sandbox)) == ["crm.company.update"] * 2 + ["crm.item.update"] * 2
    verdict = catalog.field(FieldEntity.PARTNER, "score_verdict")
    assert str(_company(sandbox, net["good"])[verdict.code]) == str(verdict.options["passed"])
    assert _deal(sandbox, good_card)["STAGE_ID"] == catalog.stage_code("acquisition", "negotiation")
    assert _deal(sandbox, small_card)["STAGE_ID"] == catalog.stage_code("acquisition", "not_a_fit")
    sandbox.advance(2)
    cli(config, capsys, "sync")
    sandbox.log.clear()
    assert cli(config, capsys, "partners", "score")[0] == 0
    assert writes(sandbox) == []  # decided once

    # onboarding: curator by partner type, tier, tasks on the card, card moved
    code, out = cli(config, capsys, "partners", "onboard")
    assert code == 0 and "Integra" in out and "Boris" in out and "onboarded" in out, out
    company = _company(sandbox, net["integra"])
    curator = catalog.field(FieldEntity.PARTNER, "curator")
    tier = catalog.field(FieldEntity.PARTNER, "tier")
    assert str(company[curator.code]) == "2" and str(company[tier.code]) == str(tier.options["bronze"])
    assert _deal(sandbox, integra_card)["STAGE_ID"] == catalog.stage_code("acquisition", "onboarding")
    tasks = sandbox.emulator.dump()["tasks"]
    tasks = list(tasks.values()) if isinstance(tasks, dict) else tasks
    titles = sorted(str(t.get("TITLE", t.get("title"))) for t in tasks)
    assert titles == ["Integra: agree the plan", "Integra: welcome call"]
    # the portal invitation (portal.invite_on_onboarding, default): one live link, labelled onboarding
    code, out = cli(config, capsys, "partners", "invitations")
    assert code == 0 and "Integra" in out and "live" in out, out
    sandbox.advance(2)
    cli(config, capsys, "sync")

    # plans and training
    plans = tmp_path / "plans.csv"
    plans.write_text(f"partner_id,period,revenue,certified_people\n{net['integra']},2026-Q4,500000,2\n")
    code, out = cli(config, capsys, "plans", "import", str(plans))
    assert code == 0 and "1 plan(s) of 1 partner(s) imported for 2026-Q4" in out, out
    bad = tmp_path / "bad.csv"
    bad.write_text("partner_id,period,revenue\n424242,2026-Q4,1\n")
    code, out = cli(config, capsys, "plans", "import", str(bad))
    assert code == 2 and "row 2: partner_id '424242' is not a partner" in out
    training = tmp_path / "training.csv"
    training.write_text(
        "email,course_id,completed_at\nann@integra.ru,sales,2026-10-01\nbob@integra.ru,sales,2026-10-02\n"
    )
    code, out = cli(config, capsys, "training", "import", str(training))
    assert code == 0 and "2 new" in out, out
    hook = tmp_path / "talentlms.json"
    hook.write_text(
        json.dumps(
            {
                "event": "user_completed_course",
                "data": {
                    "user": {"email": "cat@integra.ru"},
                    "course": {"id": 7, "name": "Advanced"},
                    "completed_at": "2026-10-03T10:00:00Z",
                },
            }
        )
    )
    code, out = cli(config, capsys, "training", "webhook", str(hook), "--lms", "talentlms")
    assert code == 0 and "1 completion(s) received, 1 new" in out, out
    code, out = cli(config, capsys, "training", "show")
    assert code == 0 and "Integra" in out and " 3 " in out, out

    code, out = cli(config, capsys, "plans", "show", "--period", "2026-Q4")
    assert code == 0 and "Integra" in out and "training (certified)" in out, out

    # the lifecycle job pushes the training count and the plan to the card
    code, out = cli(config, capsys, "partners", "run")
    assert code == 0 and "1 training record(s) pushed" in out, out
    certified = catalog.field(FieldEntity.PARTNER, "certified_people")
    assert str(_company(sandbox, net["integra"])[certified.code]) == "3"
