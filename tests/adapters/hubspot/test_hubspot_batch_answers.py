"""How the HubSpot adapter reads a batch create's answer back onto its drafts: results named by the
external-id property whatever their order, unnamed results by position only when HubSpot answered every
input, 207 errors by the ids their context lists (``ids``, ``objectWriteTraceId`` or ``id``) and never
over an input that succeeded, and the words for an input HubSpot left out; a chunk refused with 404 or
422 fails its inputs instead of the push, two chunks go out together, drafts created again after a
conflict are matched by name too, and a partner number that is no number is refused naming its property."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import pytest
from hs_support import MemoryKV, Sleeps, config, make_adapter, provision
from hs_support import field_code as _code
from hs_support import seeded_partner as _partner

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.ports import LeadDraft, PartnerUpdate, WriteOutcome
from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter

CREATE = "/crm/v3/objects/deals/batch/create"
UPDATE = "/crm/v3/objects/companies/batch/update"


def _answer(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, path: str, status: int, body: Any) -> None:
    """HubSpot answers POST ``path`` with ``status`` and ``body``; everything else as usual."""
    handle = sandbox.emulator.handle

    def respond(request: Any) -> SandboxResponse:
        if request.method == "POST" and request.path == path:
            return SandboxResponse(status=status, body=body)
        return handle(request)

    monkeypatch.setattr(sandbox.emulator, "handle", respond)


def _create(
    adapter: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, status: int, body: Any
) -> list[WriteOutcome]:
    partner = _partner(sandbox, adapter)
    _answer(sandbox, monkeypatch, CREATE, status, body)
    return adapter.create_leads([LeadDraft("l-1", partner, "One"), LeadDraft("l-2", partner, "Two")])


def test_results_named_by_the_external_id_are_matched_by_name_whatever_their_order(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ext = _code(provisioned, FieldEntity.LEAD, "external_id")
    body = {
        "status": "COMPLETE",
        "results": [{"id": "902", "properties": {ext: "l-2"}}, {"id": "901", "properties": {ext: "l-1"}}],
    }

    outcomes = _create(provisioned, sandbox, monkeypatch, 201, body)

    assert outcomes == [
        WriteOutcome("l-1", "901", created=True),
        WriteOutcome("l-2", "902", created=True),
    ]


def test_unnamed_results_for_every_input_are_matched_by_position(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"status": "COMPLETE", "results": [{"id": "901", "properties": {}}, {"id": "902"}]}

    outcomes = _create(provisioned, sandbox, monkeypatch, 201, body)

    assert outcomes == [
        WriteOutcome("l-1", "901", created=True),
        WriteOutcome("l-2", "902", created=True),
    ]


def test_an_unnamed_result_among_fewer_results_than_inputs_is_matched_to_no_one(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"status": "COMPLETE", "results": [{"id": "901", "properties": {}}]}

    outcomes = _create(provisioned, sandbox, monkeypatch, 207, body)

    assert outcomes == [
        WriteOutcome("l-1", None, error="HubSpot returned no result for this input"),
        WriteOutcome("l-2", None, error="HubSpot returned no result for this input"),
    ]


def test_an_error_naming_its_input_by_id_fails_that_input_only(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ext = _code(provisioned, FieldEntity.LEAD, "external_id")
    error = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Property values were not valid",
        "correlationId": "c-7",
        "context": {"id": ["l-2"]},
    }
    body = {"status": "COMPLETE", "results": [{"id": "901", "properties": {ext: "l-1"}}], "errors": [error]}

    outcomes = _create(provisioned, sandbox, monkeypatch, 207, body)

    assert outcomes == [
        WriteOutcome("l-1", "901", created=True),
        WriteOutcome(
            "l-2", None, error="VALIDATION_ERROR: Property values were not valid (correlationId c-7)"
        ),
    ]


def test_an_error_also_naming_an_input_that_succeeded_leaves_that_input_created(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ext = _code(provisioned, FieldEntity.LEAD, "external_id")
    error = {"category": "VALIDATION_ERROR", "message": "bad", "context": {"ids": ["l-1", "l-2"]}}
    body = {"status": "COMPLETE", "results": [{"id": "901", "properties": {ext: "l-1"}}], "errors": [error]}

    outcomes = _create(provisioned, sandbox, monkeypatch, 207, body)

    assert outcomes == [
        WriteOutcome("l-1", "901", created=True),
        WriteOutcome("l-2", None, error="VALIDATION_ERROR: bad"),
    ]


@pytest.mark.parametrize(
    ("status", "category", "message"),
    [(404, "OBJECT_NOT_FOUND", "gone"), (422, "VALIDATION_ERROR", "unprocessable")],
)
def test_a_chunk_refused_with_404_or_422_fails_its_inputs_and_not_the_push(
    provisioned: HubSpotAdapter,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    category: str,
    message: str,
) -> None:
    body = {"status": "error", "category": category, "message": message, "correlationId": f"c-{status}"}
    _answer(sandbox, monkeypatch, UPDATE, status, body)

    outcomes = provisioned.update_partners([PartnerUpdate("71", {"tier": "gold"})])

    said = f"hubspot: POST {UPDATE} answered HTTP {status} {category}: {message} (correlationId c-{status})"
    assert outcomes == [WriteOutcome("71", None, error=said)]


def test_two_chunks_of_a_batch_update_are_sent_together(
    sandbox: Sandbox, kv: MemoryKV, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = make_adapter(config(sandbox, max_concurrency=2), kv, Sleeps())
    provision(adapter)
    arrived: list[int] = []
    second = threading.Event()
    together: list[bool] = []

    def respond(request: Any) -> SandboxResponse:
        inputs = json.loads(request.body)["inputs"]
        arrived.append(len(inputs))
        if len(arrived) == 1:  # the first chunk is answered once the second has arrived
            together.append(second.wait(timeout=30))
        else:
            second.set()
        return SandboxResponse(status=200, body={"status": "COMPLETE", "results": inputs})

    _answer_with(sandbox, monkeypatch, UPDATE, respond)

    outcomes = adapter.update_partners([PartnerUpdate(str(i), {"tier": "gold"}) for i in range(1, 151)])

    assert sorted(arrived) == [50, 100] and together == [True]
    assert [o.crm_id for o in outcomes] == [str(i) for i in range(1, 151)]
    adapter.close()


def _answer_with(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, path: str, respond: Any) -> None:
    handle = sandbox.emulator.handle

    def route(request: Any) -> SandboxResponse:
        if request.method == "POST" and request.path == path:
            result: SandboxResponse = respond(request)
            return result
        return handle(request)

    monkeypatch.setattr(sandbox.emulator, "handle", route)


def test_drafts_created_again_after_a_conflict_are_matched_by_their_external_id(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ext = _code(provisioned, FieldEntity.LEAD, "external_id")
    partner = _partner(sandbox, provisioned)
    conflict = {"category": "CONFLICT", "message": "exists", "context": {"ids": ["l-1", "l-2"]}}
    answers = [
        (207, {"status": "COMPLETE", "results": [], "errors": [conflict]}),  # neither found by the read
        (
            201,
            {
                "status": "COMPLETE",
                "results": [
                    {"id": "902", "properties": {ext: "l-2"}},
                    {"id": "901", "properties": {ext: "l-1"}},
                ],
            },
        ),
    ]

    def respond(_request: Any) -> SandboxResponse:
        status, body = answers.pop(0)
        return SandboxResponse(status=status, body=body)

    _answer_with(sandbox, monkeypatch, CREATE, respond)

    outcomes = provisioned.create_leads([LeadDraft("l-1", partner, "One"), LeadDraft("l-2", partner, "Two")])

    assert outcomes == [
        WriteOutcome("l-1", "901", created=True),
        WriteOutcome("l-2", "902", created=True),
    ]


def test_a_partner_number_that_is_no_number_is_refused_naming_its_property(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    sandbox.log.clear()

    [outcome] = provisioned.update_partners([PartnerUpdate("71", {"score_total": Decimal("NaN")})])

    code = _code(provisioned, FieldEntity.PARTNER, "score_total")
    assert code == "crm_bridge_score_total"
    assert outcome == WriteOutcome(
        "71", None, error="crm_bridge_score_total NaN is not a number HubSpot can store"
    )
    assert sandbox.request_count() == 0
