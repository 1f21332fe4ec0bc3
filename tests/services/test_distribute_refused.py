"""What the operator reads when the CRM refuses some lead assignments (``AssignmentsRefused``): how many,
the first five with the manager, the CRM user and the CRM's reason, how many more, and how many leads
were assigned all the same."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_bridge.services.distribute.result import AssignmentsRefused, DistributeResult
from crm_bridge.store.assignments import AssignmentRecord

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def record(n: int, status: str, error: str | None = None) -> AssignmentRecord:
    return AssignmentRecord(
        f"L{n}", "P1", "anna", "11", "round_robin", "next in turn", "new", status, AT, error=error
    )


def refused(failed: int, assigned: int) -> str:
    result = DistributeResult(
        assigned=[record(100 + i, "done") for i in range(assigned)],
        failed=[record(i, "failed", f"user 11 is deactivated ({i})") for i in range(1, failed + 1)],
    )
    return str(AssignmentsRefused(result))


def listed(*numbers: int) -> str:
    return "; ".join(f"lead L{n} to anna (user 11): user 11 is deactivated ({n})" for n in numbers)


@pytest.mark.parametrize(
    ("failed", "assigned", "message"),
    [
        (1, 3, f"the CRM refused 1 lead assignment(s), retried next cycle: {listed(1)} (3 assigned)"),
        (
            5,
            0,
            f"the CRM refused 5 lead assignment(s), retried next cycle: {listed(1, 2, 3, 4, 5)} (0 assigned)",
        ),
        (
            6,
            2,
            "the CRM refused 6 lead assignment(s), retried next cycle: "
            f"{listed(1, 2, 3, 4, 5)}; and 1 more (2 assigned)",
        ),
        (
            9,
            0,
            "the CRM refused 9 lead assignment(s), retried next cycle: "
            f"{listed(1, 2, 3, 4, 5)}; and 4 more (0 assigned)",
        ),
    ],
)
def test_the_refusal_names_the_first_five_leads_with_the_crms_reason_and_counts_the_rest(
    failed: int, assigned: int, message: str
) -> None:
    assert refused(failed, assigned) == message
