"""The partner lifecycle (issue 14) through its services on the FakeCRM and a real store: selection
scorecard, onboarding, individual plans, training (CSV and LMS webhook) and exclusive access."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm_bridge.config import parse_settings
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.domain.model import Curator, PartnerType
from crm_bridge.domain.training import Completion
from crm_bridge.errors import UsageError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.partners.access import AccessService
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.services.partners.onboarding import OnboardingService
from crm_bridge.services.partners.plans import PlanService
from crm_bridge.services.partners.scorecard import ScorecardService
from crm_bridge.services.partners.training import TrainingService
from crm_bridge.services.partners.training_webhook import TrainingWebhook, WebhookRefused
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.services.tiers.apply import TierFunnel
from crm_bridge.services.tiers.service import TierService
from crm_bridge.services.tiers.settings import TierSettings
from crm_bridge.store import Store

PORTAL = "fake:lifecycle"
LEAD_STAGES = ("lead_registered", "qualification", "offer")
CONFIG: dict[str, Any] = {
    "locale": "en",
    "timezone": "UTC",
    "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
    "head": {"name": "Maria", "crm_user_id": "1"},
    "curators": [
        {"key": "anna", "name": "Anna", "crm_user_id": "11", "regions": ["Moscow"]},
        {"key": "oleg", "name": "Oleg", "crm_user_id": "12", "regions": ["Kazan"]},
    ],
    "tiers": {
        "window_days": 365,
        "levels": [
            {"key": "bronze", "name": "Bronze"},
            {"key": "silver", "name": "Silver", "min_won_deals": 2},
            {"key": "gold", "name": "Gold", "min_won_deals": 2, "min_certified_people": 2},
        ],
    },
    "rewards": {
        "rule_sets": [
            {
                "effective_from": "2026-01-01",
                "commission": {"by_tier": {"bronze": 5, "silver": 7, "gold": 10}},
            }
        ]
    },
    "selection": {"min_each": 2},
    "onboarding": {"curator_rule": "region"},
    "training": {"partner_domains": {"kazan-soft.ru": "PLACEHOLDER"}, "webhook_secret": "${LMS_SECRET}"},
    "access": {
        "tiers": {
            "silver": {"regions": ["Kazan"], "materials": ["Sales kit"]},
            "gold": {"products": ["Pro edition"], "events": ["Partner summit"]},
        }
    },
}
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/", "LMS_SECRET": "s3cret-lms"}


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, list[Any], str]] = {}

    def notify(self, event: str, recipients: list[Any], text: str, *, key: str) -> None:
        self.sent.setdefault(key, (event, list(recipients), text))

    def of(self, event: str) -> list[tuple[list[Any], str]]:
        return [(r, t) for e, r, t in self.sent.values() if e == event]


@pytest.fixture
def world(fake_clock: FakeClock, store: Store) -> dict[str, Any]:
    fake = FakeCRM(clock=fake_clock)
    config = json.loads(json.dumps(CONFIG))
    settings = parse_settings(config, ENV)
    provision(fake, desired_layout_for(settings))
    for uid, name in (("1", "Maria"), ("11", "Anna"), ("12", "Oleg")):
        fake.add_user(uid, name)
    fake.state.curator_keys.update({"11": "anna", "12": "oleg"})
    notifier = RecordingNotifier()
    invited: list[str] = []
    life = Lifecycle(
        fake,
        store,
        PORTAL,
        settings,
        curators=settings.domain_curators(),
        head=Curator("head", "Maria", "1"),
        notifier=notifier,
        invite=lambda partner, curator: invited.append(partner.crm_id),
    )
    return {"fake": fake, "life": life, "notifier": notifier, "invited": invited, "clock": fake_clock}


def _sync(w: dict[str, Any]) -> None:
    sync(w["fake"], w["life"].store, PORTAL, now=w["clock"]())


def _prospect(
    w: dict[str, Any], name: str, scores: dict[str, int], stage: str, region: str = ""
) -> tuple[str, str]:
    fake: FakeCRM = w["fake"]
    partner = fake.seed_partner(
        name, type=PartnerType.RESELLER, region=region, qualification=scores, prospect=True
    )
    card = fake.seed_deal(partner.crm_id, f"{name}: acquisition", funnel="acquisition", stage=stage)
    return partner.crm_id, card.crm_id


FULL = {"values_fit": 5, "audience_overlap": 4, "reputation": 4, "track_record": 3, "scalability": 3}


def test_scorecard_writes_the_weighted_score_moves_the_cards_and_tells_the_head(
    world: dict[str, Any],
) -> None:
    fake: FakeCRM = world["fake"]
    good, good_card = _prospect(world, "Romashka", FULL, "first_contact")
    weak, weak_card = _prospect(world, "Vektor", {**FULL, "scalability": 1}, "identification")
    half, half_card = _prospect(world, "Polovina", {"values_fit": 5}, "first_contact")
    _sync(world)

    run = ScorecardService(world["life"]).run(world["clock"]())

    assert fake.state.deals[good_card].stage == "negotiation"
    assert fake.state.deals[weak_card].stage == "not_a_fit"
    assert fake.state.deals[half_card].stage == "first_contact"  # half a scorecard decides nothing
    card = fake.state.custom[(Entity.PARTNER, good)]
    # (25·5 + 25·4 + 20·4 + 20·3 + 10·3) / (100·5) = 79 %
    assert (card["score_total"], card["score_verdict"]) == (79, "passed")
    assert fake.state.custom[(Entity.PARTNER, weak)]["score_verdict"] == "failed"
    assert (
        "below the minimum 2 on: Ability to scale"
        in fake.state.custom[(Entity.PARTNER, weak)]["score_reason"]
    )
    assert {r.partner.crm_id: r.action for r in run.rows} == {good: "moved", weak: "moved", half: "waiting"}
    told = world["notifier"].of("prospect_scored")
    assert len(told) == 2 and all(r[0].crm_user_id == "1" for r, _ in told)  # no curator yet: the head

    writes = fake.calls["update_partners"]
    _sync(world)
    ScorecardService(world["life"]).run(world["clock"]())
    assert fake.calls["update_partners"] == writes  # decided once


def test_scorecard_dry_run_writes_nothing(world: dict[str, Any]) -> None:
    fake: FakeCRM = world["fake"]
    _, card = _prospect(world, "Romashka", FULL, "first_contact")
    _sync(world)
    run = ScorecardService(world["life"]).run(world["clock"](), dry_run=True)
    assert [r.action for r in run.rows] == ["would move"]
    assert fake.state.deals[card].stage == "first_contact" and fake.calls["update_partners"] == 0


def test_onboarding_assigns_the_regions_curator_tasks_tier_and_moves_the_card_once(
    world: dict[str, Any],
) -> None:
    fake: FakeCRM = world["fake"]
    pid, card = _prospect(world, "Kazan Soft", FULL, "agreement_signed", region="Kazan")
    _sync(world)

    run = OnboardingService(world["life"]).run(world["clock"]())

    partner = fake.state.partners[pid]
    assert (partner.curator_key, partner.tier) == ("oleg", "bronze")
    assert partner.partner_since is not None
    tasks = [t for t in fake.state.tasks.values() if t.external_id.startswith(f"onboarding:{pid}:")]
    assert len(tasks) == 5 and {t.responsible_user_id for t in tasks} == {"12"}
    assert all(t.bound_to is not None and t.bound_to.crm_id == card for t in tasks)
    assert fake.state.deals[card].stage == "onboarding"
    assert [r.action for r in run.rows] == ["onboarded"] and world["invited"] == [pid]
    assert "you are the curator (region Kazan)" in world["notifier"].of("partner_onboarded")[0][1]

    _sync(world)
    OnboardingService(world["life"]).run(world["clock"]())
    assert len(fake.state.tasks) == 5 and world["invited"] == [pid]


def test_onboarding_invites_the_partner_to_the_portal_and_tells_the_curator_the_link(
    world: dict[str, Any],
) -> None:
    from crm_bridge.services.partners.portal_invite import PortalInvitations
    from crm_bridge.services.portal.access import PortalAccess
    from crm_bridge.store.portal import PortalRepository

    life = world["life"]
    access = PortalAccess(PortalRepository(life.store.engine), PORTAL, clock=world["clock"])
    life.invite = PortalInvitations(access, life, "https://partners.example.ru/", world["clock"])
    pid, _ = _prospect(world, "Kazan Soft", FULL, "agreement_signed", region="Kazan")
    _sync(world)

    OnboardingService(life).run(world["clock"]())

    sent = [(r, t) for r, t in world["notifier"].of("partner_onboarded") if "portal" in t]
    assert len(sent) == 1 and [c.key for c in sent[0][0]] == ["oleg"]
    link = sent[0][1].rsplit(" ", 1)[1]
    assert link.startswith("https://partners.example.ru/portal/signin#cbp_")
    first = link.partition("#")[2]
    opened = access.verify(first)
    assert opened is not None and (opened.partner_id, opened.label) == (pid, "onboarding")

    life.invite(life.partners()[pid], life.curator("oleg"))  # re-applied (after a crash): a new link
    links = [t.rsplit(" ", 1)[1] for _, t in world["notifier"].of("partner_onboarded") if "portal" in t]
    assert len(links) == 2 and access.verify(first) is None
    assert access.verify(links[1].partition("#")[2]) is not None
    assert [i.revoked_at is None for i in access.invitations(pid)].count(True) == 1


def test_a_portal_invitation_without_a_curator_goes_to_the_head_and_leaves_other_links_alone(
    world: dict[str, Any],
) -> None:
    from crm_bridge.domain.model import Partner
    from crm_bridge.services.partners.portal_invite import PortalInvitations, signin_link
    from crm_bridge.services.portal.access import PortalAccess
    from crm_bridge.store.portal import PortalRepository
    from crm_bridge.texts import words

    life = world["life"]
    access = PortalAccess(PortalRepository(life.store.engine), PORTAL, clock=world["clock"])
    invite = PortalInvitations(access, life, "https://partners.example.ru/", world["clock"])
    one, two = Partner("P1", "ООО Один"), Partner("P2", "ООО Два")
    manual = access.invite("P1", label="by hand")  # a link the head issued with `crm-bridge portal`

    for partner in (one, two, one, one):  # P1 onboarded three times over (crash and re-run)
        invite(partner, None)

    told = [(r, t) for r, t in world["notifier"].of("partner_onboarded") if "portal" in t]
    assert [[c.key for c in to] for to, _ in told] == [["head"]] * 4  # no curator: the head
    newest = max((i for i in access.invitations("P1") if i.label == "onboarding"), key=lambda i: i.created_at)
    assert told[-1][1] == words("notify", life.locale)["portal_invitation"].format(
        partner="ООО Один",
        link=told[-1][1].rsplit(" ", 1)[1],
        until=f"{newest.expires_at:%Y-%m-%d}",
    )
    assert told[-1][1].rsplit(" ", 1)[1].startswith(signin_link("https://partners.example.ru", "cbp_"))
    live = {(i.partner_id, i.label) for i in access.invitations() if i.revoked_at is None}
    assert sorted(live) == [("P1", "by hand"), ("P1", "onboarding"), ("P2", "onboarding")]
    assert access.verify(manual.key) is not None


def test_a_portal_invitation_with_no_curator_and_no_head_is_issued_and_told_to_nobody(
    world: dict[str, Any],
) -> None:
    from crm_bridge.domain.model import Partner
    from crm_bridge.services.partners.portal_invite import PortalInvitations
    from crm_bridge.services.portal.access import PortalAccess
    from crm_bridge.store.portal import PortalRepository

    life = world["life"]
    life.head = None
    access = PortalAccess(PortalRepository(life.store.engine), PORTAL, clock=world["clock"])
    PortalInvitations(access, life, "https://partners.example.ru/", world["clock"])(
        Partner("P1", "ООО Один"), None
    )

    assert [i.label for i in access.invitations("P1")] == ["onboarding"]
    assert [to for to, t in world["notifier"].of("partner_onboarded") if "portal" in t] in ([], [[]])


def test_an_onboarding_cut_short_by_the_crm_is_finished_next_run_with_the_same_curator(
    world: dict[str, Any],
) -> None:
    fake: FakeCRM = world["fake"]
    pid, card = _prospect(world, "Anywhere", FULL, "agreement_signed", region="Omsk")  # nobody covers Omsk
    _sync(world)
    fake.failures.fail_next("transient", method="create_tasks", when="after")  # done, answer lost
    with pytest.raises(Exception, match="transient|Transient"):
        OnboardingService(world["life"]).run(world["clock"]())
    assert world["life"].store.lifecycle.get(PORTAL, pid).onboarding_status == "recorded"

    world["clock"].advance(600)  # the next cycle
    OnboardingService(world["life"]).run(world["clock"]())

    assert fake.state.partners[pid].curator_key == "anna"  # round-robin fallback, turn 0, kept
    assert len(fake.state.tasks) == 5
    assert world["life"].store.lifecycle.get(PORTAL, pid).onboarding_status == "done"


def _won(w: dict[str, Any], pid: str, amount: int, n: int = 1) -> None:
    for i in range(n):
        w["fake"].seed_lead(pid, f"Deal {pid}-{i}-{amount}", stage="deal_closed", amount=Decimal(amount))


def test_plans_import_track_push_and_remind_when_the_quarter_runs_ahead_of_the_plan(
    world: dict[str, Any], tmp_path: Path
) -> None:
    fake: FakeCRM = world["fake"]
    partner = fake.seed_partner("Romashka", tier="silver", curator_key="anna")
    _won(world, partner.crm_id, 300_000)
    _sync(world)
    plans = PlanService(world["life"], lead_stages=LEAD_STAGES)
    csv = tmp_path / "plans.csv"
    csv.write_text(
        f"partner_id;period;revenue;won_deals\n{partner.crm_id};2026-Q4;1 000 000;10\n", encoding="utf-8"
    )

    done = plans.import_csv(csv)
    world["clock"].advance(timedelta(days=33).total_seconds())  # 2026-12-05: 71 % of Q4 gone
    run = plans.run(world["clock"]())

    assert done.plans == 1 and done.periods == ("2026-Q4",)
    (status,) = [s for _, s in run.statuses]
    assert status.fulfilment == Decimal("20.0")  # revenue 30 %, won deals 10 % -> mean 20 %
    card = fake.state.custom[(Entity.PARTNER, partner.crm_id)]
    assert (card["plan_period"], card["plan_progress"]) == ("2026-Q4", 20)
    assert card["plan_targets"] == "revenue 1000000; won deals 10"
    ((who, text),) = world["notifier"].of("plan_reminder")
    assert who[0].key == "anna"
    assert text.startswith("Romashka: 71 % of the quarter 2026-Q4 gone, 20 % of the plan done")


def test_a_plan_file_with_bad_rows_names_them_and_imports_nothing(
    world: dict[str, Any], tmp_path: Path
) -> None:
    partner = world["fake"].seed_partner("Romashka")
    _sync(world)
    csv = tmp_path / "plans.csv"
    csv.write_text(
        f"partner_id,period,revenue,leads\n{partner.crm_id},2026-Q4,100,5\n999,2026-Q4,1,1\n"
        f"{partner.crm_id},2026-Q5,1,1\n{partner.crm_id},2027-Q1,lots,2.5\n",
        encoding="utf-8",
    )
    with pytest.raises(UsageError) as caught:
        PlanService(world["life"], lead_stages=LEAD_STAGES).import_csv(csv)
    message = str(caught.value)
    assert "row 3: partner_id '999' is not a partner" in message
    assert "row 4: period:" in message
    assert (
        "row 5: revenue: 'lots' is not a number" in message
        and "row 5: leads: must be a whole number" in message
    )
    assert world["life"].store.plans.all(PORTAL) == {}


def _training(w: dict[str, Any], pid: str) -> TrainingService:
    settings = w["life"].settings
    domains = settings.training.model_copy(update={"partner_domains": {"kazan-soft.ru": pid}})
    w["life"].settings = settings.model_copy(update={"training": domains})
    return TrainingService(w["life"])


def test_training_csv_is_recorded_once_and_pushed_to_the_card(world: dict[str, Any], tmp_path: Path) -> None:
    fake: FakeCRM = world["fake"]
    partner = fake.seed_partner("Kazan Soft")
    _sync(world)
    service = _training(world, partner.crm_id)
    csv = tmp_path / "training.csv"
    csv.write_text(
        "email,name,course_id,completed_at\n"
        "anna@kazan-soft.ru,Anna,sales-101,2026-10-20\n"
        "ivan@kazan-soft.ru,Ivan,sales-101,20.10.2026\n"
        "IVAN@kazan-soft.ru,Ivan,SALES-101,2026-10-21\n",  # the same person and course again
        encoding="utf-8",
    )
    first = service.import_csv(csv)
    again = service.import_csv(csv)
    pushed = service.push(world["clock"]())

    assert (first.rows, first.new, again.new) == (3, 2, 0)
    card = fake.state.custom[(Entity.PARTNER, partner.crm_id)]
    assert card["certified_people"] == 2 and fake.state.partners[partner.crm_id].training_completed is True
    assert pushed == 1 and service.push(world["clock"]()) == 0


def test_the_lms_webhook_checks_the_secret_and_reads_generic_and_talentlms_bodies(
    world: dict[str, Any],
) -> None:
    partner = world["fake"].seed_partner("Kazan Soft")
    _sync(world)
    hook = TrainingWebhook(_training(world, partner.crm_id))
    generic = json.dumps(
        {"email": "anna@kazan-soft.ru", "course_id": "sales-101", "completed_at": "2026-10-20T10:00:00+03:00"}
    ).encode()
    talent = json.dumps(
        {
            "event": "user_completed_course",
            "data": {
                "user": {"email": "ivan@kazan-soft.ru", "first_name": "Ivan", "last_name": "Petrov"},
                "course": {"id": 42, "name": "Product certification"},
                "completed_at": "2026-10-21 12:00:00",
            },
        }
    ).encode()

    with pytest.raises(WebhookRefused) as wrong:
        hook.receive(generic, authorization="Bearer nope", token="")
    first = hook.receive(generic, authorization="Bearer s3cret-lms", token="")
    second = hook.receive(talent, source="talentlms", authorization="", token="s3cret-lms")
    other = hook.receive(
        b'{"event": "user_signup", "data": {}}', source="talentlms", authorization="", token="s3cret-lms"
    )
    with pytest.raises(WebhookRefused) as bad:
        hook.receive(
            b'{"email": "x@nowhere.org", "course_id": "c", "completed_at": "2026-10-01"}',
            authorization="",
            token="s3cret-lms",
        )

    assert wrong.value.status == 401
    assert (first.new, second.new, other.received) == (1, 1, 0)
    assert "not a course completion" in other.ignored
    assert bad.value.status == 422 and "partner_domains" in str(bad.value)
    stored = world["life"].store.training.all(PORTAL)
    assert {(c.person_email, c.course_id, c.source) for c in stored} == {
        ("anna@kazan-soft.ru", "sales-101", "webhook"),
        ("ivan@kazan-soft.ru", "42", "talentlms"),
    }


def _tiers(w: dict[str, Any], training: TrainingService | None) -> TierService:
    life = w["life"]
    return TierService(
        w["fake"],
        life.store,
        PORTAL,
        TierSettings.from_settings(life.settings),
        lead_stages=LEAD_STAGES,
        funnel=TierFunnel.from_layout(desired_layout_for(life.settings)),
        curators=life.curators,
        training=training.certified_people if training else None,
    )


def test_gold_needs_two_certified_people_and_the_access_change_is_shown_and_told(
    world: dict[str, Any], tmp_path: Path
) -> None:
    fake: FakeCRM = world["fake"]
    partner = fake.seed_partner("Kazan Soft", tier="bronze", curator_key="oleg")
    _won(world, partner.crm_id, 100_000, n=2)
    _sync(world)
    training = _training(world, partner.crm_id)
    access = AccessService(world["life"])
    access.run(world["clock"]())  # the card shows bronze's (empty) access; nothing to announce
    assert world["notifier"].of("access_changed") == []

    world["clock"].advance(60)
    _tiers(world, training).evaluate(world["clock"]())
    assert fake.state.partners[partner.crm_id].tier == "silver"  # two won deals, nobody certified yet
    access.run(world["clock"]())
    ((_, silver_text),) = world["notifier"].of("access_changed")
    assert "Bronze → Silver. Gained: regions: Kazan; materials: Sales kit." in silver_text

    csv = tmp_path / "t.csv"
    csv.write_text(
        "email,course_id,completed_at\na@kazan-soft.ru,c1,2026-10-01\nb@kazan-soft.ru,c1,2026-10-02\n"
    )
    training.import_csv(csv)
    world["clock"].advance(3600)
    _sync(world)
    _tiers(world, training).evaluate(world["clock"]())
    assert fake.state.partners[partner.crm_id].tier == "gold"
    access.run(world["clock"]())
    card = fake.state.custom[(Entity.PARTNER, partner.crm_id)]
    assert (
        card["access"]
        == "regions: Kazan; products: Pro edition; materials: Sales kit; events: Partner summit"
    )
    gold = [t for _, t in world["notifier"].of("access_changed") if "Silver → Gold" in t]
    assert gold == ["Kazan Soft: tier Silver → Gold. Gained: products: Pro edition; events: Partner summit."]


def test_without_the_training_counts_gold_stays_out_of_reach(world: dict[str, Any]) -> None:
    partner = world["fake"].seed_partner("Kazan Soft", tier="bronze")
    _won(world, partner.crm_id, 100_000, n=5)
    _sync(world)
    world["clock"].advance(60)
    _tiers(world, None).evaluate(world["clock"]())
    assert world["fake"].state.partners[partner.crm_id].tier == "silver"


def test_config_names_unknown_tiers_and_stages_of_the_lifecycle_sections() -> None:
    from crm_bridge.errors import ConfigError

    bad = json.loads(json.dumps(CONFIG))
    bad["access"]["tiers"]["diamond"] = {"products": ["X"]}
    bad["onboarding"]["trigger_stages"] = ["signed"]
    bad["selection"]["weights"] = {"values_fit": 0}
    with pytest.raises(ConfigError) as caught:
        parse_settings(bad, ENV)
    text = str(caught.value)
    assert "selection.weights" in text or "selection: " in text
    bad["selection"]["weights"] = {"values_fit": 1}
    with pytest.raises(ConfigError) as caught:
        parse_settings(bad, ENV)
    text = str(caught.value)
    assert "access.tiers.diamond: unknown tier 'diamond'" in text
    assert "onboarding.trigger_stages[0]: no stage 'signed' in the acquisition funnel" in text


_ = (datetime, UTC)


def test_the_webhook_answer_and_the_documented_generic_example_agree(world: dict[str, Any]) -> None:
    import jsonschema

    from crm_bridge.services.partners.training_webhook import answer
    from crm_bridge.web.training import component_schemas

    partner = world["fake"].seed_partner("Romashka")
    _sync(world)
    hook = TrainingWebhook(_training(world, partner.crm_id))
    schema = component_schemas()["TrainingCompletion"]  # as /openapi.json publishes it
    example = {k: v["examples"][0] for k, v in schema["properties"].items() if "examples" in v}
    example["partner_id"] = partner.crm_id
    jsonschema.validate(example, schema)

    status, body = answer(
        hook, json.dumps(example).encode(), source="generic", authorization="", token="s3cret-lms"
    )
    again = answer(
        hook,
        json.dumps({"completions": [example]}).encode(),
        source="generic",
        authorization="",
        token="s3cret-lms",
    )
    refused = answer(hook, b"not json", source="generic", authorization="", token="s3cret-lms")

    assert (status, body) == (200, {"received": 1, "new": 1})
    assert again == (200, {"received": 1, "new": 0})
    assert refused[0] == 400 and refused[1]["error"] == "invalid_request"
    assert "not JSON" in refused[1]["message"]


def test_a_later_completion_of_the_same_course_renews_the_certificate(world: dict[str, Any]) -> None:
    partner = world["fake"].seed_partner("Romashka")
    _sync(world)
    service = _training(world, partner.crm_id)
    now = world["clock"]()
    old = [Completion(partner.crm_id, "a@kazan-soft.ru", "c1", now - timedelta(days=400))]
    renewed = [Completion(partner.crm_id, "a@kazan-soft.ru", "c1", now - timedelta(days=2))]

    assert service.record(old) == 1 and service.certified_people(now) == {partner.crm_id: 0}  # expired
    assert service.record(renewed) == 0 and service.certified_people(now) == {partner.crm_id: 1}
    assert service.record(old) == 0 and service.certified_people(now) == {partner.crm_id: 1}  # never back


def test_prospects_get_no_tier_until_their_agreement_is_signed(world: dict[str, Any]) -> None:
    fake: FakeCRM = world["fake"]
    early, _ = _prospect(world, "Early", FULL, "first_contact")
    signed, _ = _prospect(world, "Signed", FULL, "agreement_signed")
    unfit, _ = _prospect(world, "Unfit", FULL, "not_a_fit")
    _sync(world)
    service = _tiers(world, None)
    service._prospects = world["life"].prospects  # as the engine wires it

    service.evaluate(world["clock"]())

    assert world["life"].prospects() == {early, unfit, signed}  # signed: until onboarded
    assert {fake.state.partners[p].tier for p in (early, unfit, signed)} == {None}
    OnboardingService(world["life"]).run(world["clock"]())
    _sync(world)
    assert world["life"].prospects() == {early, unfit}
    assert fake.state.partners[signed].tier == "bronze"  # the onboarding's first tier


def test_the_report_shows_the_imported_plan_with_the_training_target_against_actuals(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from crm_bridge.domain.period import Period
    from crm_bridge.services.report.csv_table import report_csv
    from crm_bridge.services.report.data import build_report

    partner = world["fake"].seed_partner("Kazan Soft", tier="silver")
    _won(world, partner.crm_id, 250_000)
    _sync(world)
    service = _training(world, partner.crm_id)
    service.record(
        [Completion(partner.crm_id, "a@kazan-soft.ru", "c1", world["clock"]() - timedelta(days=3))]
    )
    plans = tmp_path / "plans.csv"
    plans.write_text(f"partner_id,period,revenue,certified_people\n{partner.crm_id},2026-Q4,1000000,2\n")
    PlanService(world["life"], lead_stages=LEAD_STAGES).import_csv(plans)
    world["clock"].advance(3600)
    settings = world["life"].settings

    data = build_report(
        world["life"].store,
        PORTAL,
        settings,
        desired_layout_for(settings),
        Period.quarter("2026-Q4"),
        now=world["clock"](),
    )

    (row,) = [r for r in data.partners if r.partner.crm_id == partner.crm_id]
    goals = {g.target: (g.plan, g.actual) for g in row.goals}
    assert goals == {
        "revenue": (Decimal(1000000), Decimal(250000)),
        "certified_people": (Decimal(2), Decimal(1)),
    }
    lines = [line for line in report_csv(data).splitlines() if "certified_people" in line]
    assert lines == [f"2026-Q4,partner,{partner.crm_id},Kazan Soft,certified_people,1,2,50"]


def test_the_lifecycle_run_is_summed_up_in_the_operators_language(world: dict[str, Any]) -> None:
    from crm_bridge.services.partners.cycle import run_lifecycle

    life = world["life"]
    _prospect(world, "Romashka", FULL, "first_contact")
    _prospect(world, "Vektor", {**FULL, "scalability": 1}, "identification")
    _prospect(world, "Polovina", {"values_fit": 5}, "first_contact")  # waits: scored, not moved
    _prospect(world, "Kazan Soft", FULL, "agreement_signed", region="Kazan")
    _sync(world)
    life.settings = life.settings.model_copy(
        update={"onboarding": life.settings.onboarding.model_copy(update={"automatic": False})}
    )
    manual = run_lifecycle(life, world["clock"](), lead_stages=LEAD_STAGES)
    assert manual.describe() == (  # the signed partner waits for a manual onboarding
        "2 prospect(s) scored, 0 partner(s) onboarded, 0 training record(s) pushed, 0 plan(s) tracked, "
        "0 reminder(s), 0 access change(s)"
    )
    life.settings = life.settings.model_copy(
        update={"onboarding": life.settings.onboarding.model_copy(update={"automatic": True})}
    )

    run = run_lifecycle(life, world["clock"](), lead_stages=LEAD_STAGES)

    assert run.describe() == (
        "0 prospect(s) scored, 1 partner(s) onboarded, 0 training record(s) pushed, 0 plan(s) tracked, "
        "0 reminder(s), 0 access change(s)"
    )
    assert run.describe("ru") == (
        "оценено кандидатов: 0, адаптировано партнёров: 1, записей об обучении передано: 0, "
        "планов отслеживается: 0, напоминаний: 0, изменений доступа: 0"
    )
    life.settings = life.settings.model_copy(
        update={"onboarding": life.settings.onboarding.model_copy(update={"automatic": False})}
    )
    assert run_lifecycle(life, world["clock"](), lead_stages=LEAD_STAGES).describe() == (
        "0 prospect(s) scored, 0 partner(s) onboarded, 0 training record(s) pushed, 0 plan(s) tracked, "
        "0 reminder(s), 0 access change(s)"
    )


def test_a_portal_invitation_that_expired_is_left_expired_and_the_new_one_told_in_the_locale(
    world: dict[str, Any],
) -> None:
    from crm_bridge.domain.model import Partner
    from crm_bridge.services.partners.portal_invite import PortalInvitations
    from crm_bridge.services.portal.access import PortalAccess
    from crm_bridge.store.portal import PortalRepository
    from crm_bridge.texts import words

    life, clock = world["life"], world["clock"]
    life.settings = life.settings.model_copy(update={"locale": "ru"})
    access = PortalAccess(PortalRepository(life.store.engine), PORTAL, clock=clock)
    invite = PortalInvitations(access, life, "https://partners.example.ru", clock)
    one = Partner("P1", "ООО Один")
    invite(one, None)
    (first,) = access.invitations("P1")
    clock.advance((first.expires_at - clock()).total_seconds())  # the first link's last moment has passed

    invite(one, None)

    by_id = {i.invitation_id: i for i in access.invitations("P1")}
    assert by_id[first.invitation_id].revoked_at is None  # expired, not revoked
    (second,) = [i for i in by_id.values() if i.invitation_id != first.invitation_id]
    (_, text) = [(r, t) for r, t in world["notifier"].of("partner_onboarded") if "signin" in t][-1]
    link = text.rsplit(" ", 1)[1]
    assert text == words("notify", "ru")["portal_invitation"].format(
        partner="ООО Один", link=link, until=f"{second.expires_at:%Y-%m-%d}"
    )
    assert link.startswith("https://partners.example.ru/portal/signin#cbp_")


@pytest.mark.parametrize(
    ("public_url", "link"),
    [
        ("https://partners.example.ru", "https://partners.example.ru/portal/signin#cbp_k"),
        ("https://partners.example.ru//", "https://partners.example.ru/portal/signin#cbp_k"),
        ("https://crm.example.ru/PARTNERBOX/", "https://crm.example.ru/PARTNERBOX/portal/signin#cbp_k"),
    ],
)
def test_the_signin_link_keeps_the_public_url_but_its_trailing_slashes(public_url: str, link: str) -> None:
    from crm_bridge.services.partners.portal_invite import signin_link

    assert signin_link(public_url, "cbp_k") == link


def test_a_partners_acquisition_card_is_its_latest_changed_one_the_higher_id_on_a_tie(
    store: Store, fake_clock: FakeClock
) -> None:
    from crm_bridge.domain.model import Deal, StageKind
    from crm_bridge.ports import RecordPage

    t = fake_clock()

    def card(crm_id: str, partner: str, created: int, modified: int | None) -> Deal:
        changed = t + timedelta(hours=modified) if modified is not None else None
        return Deal(
            crm_id,
            partner,
            f"{partner}: acquisition",
            "acquisition",
            "first_contact",
            StageKind.OPEN,
            Decimal(0),
            t + timedelta(hours=created),
            modified_at=changed,
        )

    store.save_page(
        PORTAL,
        RecordPage(
            Entity.DEAL,
            [
                card("9", "tie", 0, 1),  # the same moment: the higher id (10) is the newer card
                card("10", "tie", 0, 1),
                card("20", "back", 0, 5),  # created first but changed last
                card("30", "back", 2, None),  # never changed: its creation counts
                card("deal-x", "named", 0, 5),  # an id that is not a number
                card("40", "named", 0, 4),
            ],
            None,
        ),
    )
    life = Lifecycle(FakeCRM(clock=fake_clock), store, PORTAL, settings=None)
    assert {pid: deal.crm_id for pid, deal in life.acquisition_cards().items()} == {
        "tie": "10",
        "back": "20",
        "named": "deal-x",
    }


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_the_plan_reminder_lists_only_the_targets_behind_with_their_names_in_the_locale(
    world: dict[str, Any], tmp_path: Path, locale: str
) -> None:
    fake: FakeCRM = world["fake"]
    life = world["life"]
    life.settings = life.settings.model_copy(update={"locale": locale})
    partner = fake.seed_partner("Romashka", tier="silver", curator_key="anna")
    _won(world, partner.crm_id, 50_000)  # revenue and leads behind the plan, the won deal met
    _sync(world)
    plans = PlanService(life, lead_stages=LEAD_STAGES)
    csv = tmp_path / "plans.csv"
    csv.write_text(
        f"partner_id;period;revenue;leads;won_deals\n{partner.crm_id};2026-Q4;1000000;10;1\n",
        encoding="utf-8",
    )
    plans.import_csv(csv)
    world["clock"].advance(timedelta(days=33).total_seconds())  # 2026-12-05: 71 % of Q4 gone

    plans.run(world["clock"]())

    ((_, text),) = world["notifier"].of("plan_reminder")
    assert (
        text
        == {
            "en": "Romashka: 71 % of the quarter 2026-Q4 gone, 38.3 % of the plan done "
            "(revenue 50000 / 1000000; leads 1 / 10). "
            "Time to talk to the partner.",
            "ru": "Romashka: прошло 71 % квартала 2026-Q4, план выполнен на 38.3 % "
            "(выручка 50000 / 1000000; лиды 1 / 10). "
            "Свяжитесь с партнёром.",
        }[locale]
    )


def test_one_lifecycle_run_dates_the_score_and_the_onboarding_counts_qualified_leads_and_tells_access(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from crm_bridge.ports import PartnerUpdate
    from crm_bridge.services.partners.cycle import run_lifecycle

    fake: FakeCRM = world["fake"]
    life = world["life"]
    scored, _ = _prospect(world, "Romashka", FULL, "first_contact")
    signed, _ = _prospect(world, "Kazan Soft", FULL, "agreement_signed", region="Kazan")
    seller = fake.seed_partner("Vektor", tier="bronze", curator_key="anna")
    fake.seed_lead(seller.crm_id, "Lead A", stage="lead_registered")
    fake.seed_lead(seller.crm_id, "Lead B", stage="offer")
    fake.seed_lead(seller.crm_id, "Lead C", stage="qualification")
    _sync(world)
    csv = tmp_path / "plans.csv"
    csv.write_text(f"partner_id;period;qualified_leads\n{seller.crm_id};2026-Q4;4\n", encoding="utf-8")
    PlanService(life, lead_stages=LEAD_STAGES).import_csv(csv)
    first = world["clock"]()

    run = run_lifecycle(life, first, lead_stages=LEAD_STAGES)

    rows = life.store.lifecycle.all(PORTAL)
    assert rows[scored].scored_at == first
    assert rows[signed].onboarded_at == first
    assert [s.fulfilment for _, s in run.plans.statuses] == [Decimal("50.0")]  # 2 of 4 qualified
    assert fake.state.custom[(Entity.PARTNER, seller.crm_id)]["plan_progress"] == 50

    world["clock"].advance(3600)
    fake.update_partners([PartnerUpdate(seller.crm_id, {"tier": "silver"})])
    _sync(world)
    run_lifecycle(life, world["clock"](), lead_stages=LEAD_STAGES)
    told = [t for _, t in world["notifier"].of("access_changed") if t.startswith("Vektor")]
    assert told == ["Vektor: tier Bronze → Silver. Gained: regions: Kazan; materials: Sales kit."]
