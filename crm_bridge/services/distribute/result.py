"""What one distribution run did (``DistributeResult``), and the error that fails the job when the CRM
refused some assignments (``AssignmentsRefused``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from crm_bridge.errors import CrmBridgeError
from crm_bridge.store.assignments import AssignmentRecord


@dataclass
class DistributeResult:
    assigned: list[AssignmentRecord] = field(default_factory=list)
    unassigned: list[AssignmentRecord] = field(default_factory=list)
    failed: list[AssignmentRecord] = field(default_factory=list)

    def per_manager(self) -> Counter[str]:
        return Counter(a.manager_key or "" for a in self.assigned)


class AssignmentsRefused(CrmBridgeError):
    """The CRM refused to assign some leads (e.g. an unknown or deactivated responsible user): the job
    failed, each lead with the CRM's reason; the other leads were assigned (``result``). The refused
    leads are decided again on the next run, so fixing the cause (the config, the CRM user) is enough."""

    def __init__(self, result: DistributeResult) -> None:
        self.result = result
        shown = "; ".join(
            f"lead {r.lead_crm_id} to {r.manager_key} (user {r.manager_user_id}): {r.error}"
            for r in result.failed[:5]
        )
        more = f"; and {len(result.failed) - 5} more" if len(result.failed) > 5 else ""
        super().__init__(
            f"the CRM refused {len(result.failed)} lead assignment(s), retried next cycle: {shown}{more}"
            f" ({len(result.assigned)} assigned)"
        )


__all__ = ["AssignmentsRefused", "DistributeResult"]
