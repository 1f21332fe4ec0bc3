"""API fuzzing: schemathesis generates requests from the published ``/openapi.json`` (bounded,
derandomized: the same examples every run) and sends them to the real application -- the intake over
a FakeCRM and a real state store, and the LMS training webhooks (their secret is the partner's intake
key here, so the requests "with the partner's key" reach the completions' parser). No answer may be a
5xx, and every answer must match the schema (status code documented, content type, body, headers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crm_bridge.config import parse_settings
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity
from crm_bridge.services.intake.api import FloodLimit, IntakeApi
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.intake.service import IntakeService
from crm_bridge.services.intake.throttle import AuthLimits, AuthThrottle
from crm_bridge.services.metrics import BridgeMetrics
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.services.partners.training import TrainingService
from crm_bridge.services.partners.training_webhook import TrainingWebhook
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import open_store
from crm_bridge.web import WebContext, create_app

PORTAL = "fake:fuzz"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
KEY: dict[str, str] = {}


def build_app(tmp: Path) -> FastAPI:
    clock = FakeClock()
    crm = FakeCRM(clock=clock)
    provision(crm, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    partner = crm.seed_partner("ООО Альфа")
    store = open_store(f"sqlite:///{tmp / 'fuzz.db'}")
    sync(crm, store, PORTAL, now=clock(), entities=[Entity.PARTNER])
    keys = ApiKeys(store.intake, PORTAL)
    KEY["key"] = keys.create(partner.crm_id, now=clock()).key
    metrics = BridgeMetrics()
    api = IntakeApi(
        keys,
        IntakeService(crm, store, PORTAL),
        clock,
        AuthThrottle(store.bucket, clock, AuthLimits(per_address=100_000, per_key=100_000)),
        metrics.intake_auth_refused,
        flood=FloodLimit(store.bucket, 100_000),
    )
    settings = parse_settings(
        {
            "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24}"}},
            "training": {"partner_domains": {"alfa.ru": partner.crm_id}, "webhook_secret": "${LMS}"},
        },
        {"B24": "https://b24.example.ru/rest/1/abcdef123456/", "LMS": KEY["key"]},
    )
    hook = TrainingWebhook(TrainingService(Lifecycle(crm, store, PORTAL, settings)))
    ctx = WebContext(
        metrics=metrics,
        store=store,
        intake=api,
        health=lambda: (True, {"status": "ok", "jobs": {}}),
        ready_checks={"store": lambda: None},
        services={"training_webhook": hook},
    )
    return create_app(ctx)


_tmp = Path(__import__("tempfile").mkdtemp(prefix="crm-bridge-fuzz-"))
schema = schemathesis.openapi.from_asgi("/openapi.json", build_app(_tmp))


@pytest.fixture(params=["with the partner's key", "without a key"])
def auth(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    yield {"Authorization": f"Bearer {KEY['key']}"} if request.param == "with the partner's key" else {}


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_every_answer_matches_the_published_schema(
    case: schemathesis.Case, auth: dict[str, str]
) -> None:
    case.call_and_validate(headers=auth or None, checks=CHECKS)
