"""``crm-bridge intake import FILE.csv``: every good row becomes a partner lead exactly once (however
often the import is interrupted and rerun); bad rows go to ``FILE.rejects.csv`` with row and reason.

A row's idempotency key is a hash of its content (partner, customer, identity, amount, comment). So
rerunning the same file — or the file with a rejected row fixed, or rows added — creates only the leads
not created before. Within one file, a row repeating an earlier row's customer for the same partner
(same e-mail, phone or tax id) is a duplicate: it goes to the rejects file naming the earlier row.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from crm_bridge.domain.registration import normalise_identity
from crm_bridge.services.intake.csv_file import Reject, read_lead_csv, write_rejects
from crm_bridge.services.intake.fields import FieldProblem, LeadFields
from crm_bridge.services.intake.service import IntakeOutcome, IntakeService, LeadSubmission, content_key

log = logging.getLogger("crm_bridge.intake.import")


@dataclass
class ImportReport:
    path: Path
    rows: int = 0
    outcomes: list[tuple[int, IntakeOutcome]] = field(default_factory=list)  # (row, outcome)
    rejects: list[Reject] = field(default_factory=list)
    rejects_file: Path | None = None
    uncertain: int = 0  # lead writes whose answer was lost (then looked up and finished in this run)
    unresolved: int = 0  # leads still uncertain after every lookup (the next run looks them up first)

    def count(self, status: str) -> int:
        return sum(1 for _, o in self.outcomes if o.status == status)

    @property
    def conflicts(self) -> int:
        return sum(1 for _, o in self.outcomes if o.ok and o.conflict)


def row_key(partner_id: str, fields: LeadFields) -> str:
    """Content hash of a row, insensitive to case and formatting of the identity."""
    c = fields.customer
    return content_key(
        "csv",
        partner_id,
        fields.customer_name.casefold(),
        c.email.strip().casefold(),
        re.sub(r"\D", "", c.phone),
        re.sub(r"\D", "", c.tax_id),
        fields.amount,
        fields.comment,
    )


class ImportProgress(Protocol):
    """Told how many good rows go to the CRM, then how many each batch handled."""

    def begin(self, total: int) -> None: ...

    def advance(self, rows: int) -> None: ...


def import_csv(
    path: Path, service: IntakeService, *, now: datetime, progress: ImportProgress | None = None
) -> ImportReport:
    """Import ``path``. Raises DataError for a file that cannot be used at all (encoding, header),
    and the CRM's retriable errors when it is down (run the import again later: nothing doubles)."""
    parsed = read_lead_csv(path)
    report = ImportReport(
        path=path, rows=len(parsed.rows) + len(parsed.rejects), rejects=list(parsed.rejects)
    )
    seen: Counter[str] = Counter()
    first_row: dict[tuple[str, str, str], int] = {}  # (partner, identity part, value) -> first row
    accepted: list[tuple[int, LeadSubmission]] = []
    for row in parsed.rows:
        partner_id = row.values.get("partner_id", "").strip()
        fields, problems = service.check_fields(row.values)
        if not partner_id:
            problems.insert(0, FieldProblem("partner_id", "is required"))
        elif not partner_id.isdigit():
            problems.insert(0, FieldProblem("partner_id", f"{partner_id!r} is not a CRM company id"))
        if problems or fields is None:
            report.rejects.append(Reject(row.row, "; ".join(str(p) for p in problems), row.values))
            continue
        duplicate = _earlier_row(first_row, partner_id, fields, row.row, service.country_code)
        if duplicate is not None:
            report.rejects.append(Reject(row.row, duplicate, row.values))
            continue
        base = row_key(partner_id, fields)
        # 1 but for two customers with the same digits ("+44 20 7946 0958" and "44 20 7946 0958", which the
        # country code makes two numbers): the count keeps their keys apart
        seen[base] += 1
        sub = LeadSubmission(f"csv:{base}:{seen[base]}", partner_id, fields, f"{path.name} row {row.row}")
        accepted.append((row.row, sub))
    if progress is not None:
        progress.begin(len(accepted))
    outcomes = service.submit(
        [sub for _, sub in accepted], now=now, progress=progress.advance if progress else None
    )
    report.uncertain, report.unresolved = service.uncertain_writes, service.unresolved
    by_row = {r.row: r for r in parsed.rows}
    for (row_number, _), outcome in zip(accepted, outcomes, strict=True):
        report.outcomes.append((row_number, outcome))
        if not outcome.ok:
            report.rejects.append(Reject(row_number, outcome.error, by_row[row_number].values))
    for rej in report.rejects:  # reasons quote partner values and CRM answers: the log escapes them
        log.warning("intake import %s: row %d rejected: %s", path.name, rej.row, rej.reason)
    report.rejects_file = write_rejects(path, report.rejects, parsed.delimiter)
    return report


_IDENTITY_NAMES = {"email": "e-mail", "phone": "phone", "tax_id": "tax id"}


def _earlier_row(
    first_row: dict[tuple[str, str, str], int], partner_id: str, fields: LeadFields, row: int, country: str
) -> str | None:
    """Why ``row`` repeats an earlier row of the file (same partner and the same customer by the
    domain's rule, ``same_customer``: an equal normalised e-mail, phone or tax id), or None after
    remembering its identity. ``fields`` passed ``check_fields``, so the identity normalises."""
    keys = [(partner_id, kind, value) for kind, value in normalise_identity(fields.customer, country).keys()]
    for key in keys:
        if key in first_row:
            return (
                f"duplicate of row {first_row[key]} (same partner and {_IDENTITY_NAMES[key[1]]}); "
                "not created twice"
            )
    for key in keys:
        first_row[key] = row
    return None
