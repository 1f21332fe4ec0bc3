"""The order of an incremental HubSpot listing whatever order a search answers in: by
``hs_lastmodifieddate`` (HubSpot's ``updatedAt`` for a row without it; a row with neither first), the
id breaking ties, and the page's cursor at the last of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hs_support import field_code as _code

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.ports import Entity, SyncCursor
from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter

SEARCH = "/crm/v3/objects/companies/search"
START = SyncCursor(datetime(2025, 12, 1, tzinfo=UTC))


def _answer_search(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]) -> None:
    """HubSpot answers the company search with ``rows`` in this order (one page)."""
    handle = sandbox.emulator.handle

    def respond(request: Any) -> SandboxResponse:
        if request.method == "POST" and request.path == SEARCH:
            return SandboxResponse(status=200, body={"total": len(rows), "results": rows})
        return handle(request)

    monkeypatch.setattr(sandbox.emulator, "handle", respond)


def _row(adapter: HubSpotAdapter, rid: str, modified: str | None, updated: str | None) -> dict[str, Any]:
    props = {"name": f"P{rid}", _code(adapter, FieldEntity.PARTNER, "partner_type"): "reseller"}
    if modified is not None:
        props["hs_lastmodifieddate"] = modified
    row: dict[str, Any] = {"id": rid, "properties": props}
    if updated is not None:
        row["updatedAt"] = updated
    return row


def test_changes_are_listed_by_modified_time_else_updated_at_and_the_cursor_is_the_last(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        _row(provisioned, "5", "2025-12-02T10:02:00Z", "2025-12-02T09:00:00Z"),
        _row(provisioned, "6", "2025-12-02T10:01:00Z", "2025-12-02T11:00:00Z"),
        _row(provisioned, "4", None, "2025-12-02T10:03:00Z"),
        _row(provisioned, "7", None, None),
    ]
    _answer_search(sandbox, monkeypatch, rows)

    [page] = list(provisioned.changed_since(Entity.PARTNER, START))

    assert [p.crm_id for p in page.records] == ["7", "6", "5", "4"]
    assert page.cursor == SyncCursor(datetime(2025, 12, 2, 10, 3, tzinfo=UTC), "4")


def test_changes_of_the_same_moment_are_listed_by_id(
    provisioned: HubSpotAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = "2025-12-02T10:00:00Z"
    _answer_search(
        sandbox,
        monkeypatch,
        [_row(provisioned, "12", moment, None), _row(provisioned, "3", moment, None)],
    )

    [page] = list(provisioned.changed_since(Entity.PARTNER, START))

    assert [p.crm_id for p in page.records] == ["3", "12"]
    assert page.cursor == SyncCursor(datetime(2025, 12, 2, 10, 0, tzinfo=UTC), "12")
