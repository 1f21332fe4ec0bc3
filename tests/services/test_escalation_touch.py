"""What counts as the manager having touched a lead (``escalate.touched``): anything the CRM shows a
person did since the assignment stops its escalation; a lead as it was assigned is untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_bridge.domain.model import Lead, StageKind
from crm_bridge.services.distribute.escalate import touched
from crm_bridge.store.assignments import AssignmentRecord

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ASSIGNED = AssignmentRecord("L1", "P1", "anna", "11", "round_robin", "next in turn", "new", "done", AT)


def lead(**changed: Any) -> Lead:
    values: dict[str, Any] = {"stage": "new", "stage_kind": StageKind.OPEN, "manager_user_id": "11"}
    values.update(changed)
    stage, kind = values.pop("stage"), values.pop("stage_kind")
    return Lead("L1", "P1", "Пилот", stage, kind, AT - timedelta(hours=1), **values)


@pytest.mark.parametrize(
    ("now", "is_touched"),
    [
        (lead(), False),  # as it was assigned
        (lead(manager_user_id=None), False),  # the CRM does not say who holds it
        (lead(first_touch_at=AT + timedelta(minutes=20)), True),  # a call, an e-mail...
        (lead(stage="qualification"), True),  # moved on to another open stage
        (lead(stage="lost", stage_kind=StageKind.LOST), True),  # closed
        (lead(stage_kind=StageKind.WON), True),  # closed in a stage of the same key
        (lead(manager_user_id="12"), True),  # handed to another manager
    ],
)
def test_anything_a_person_did_since_the_assignment_counts_as_a_touch(now: Lead, is_touched: bool) -> None:
    assert touched(now, ASSIGNED) is is_touched
