"""Training and certification (handbook 7.0.1 §1.3): completions recorded per partner and person from
CSV (``crm-bridge training import``) and LMS webhooks (``training_webhook``), stored once each, pushed
to the partner card (``certified_people``, ``training_completed``) and counted — in tier thresholds
(``min_certified_people``), plans (``certified_people`` target) and points (``per_certification``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from crm_bridge.domain.training import Completion, TrainingStats, training_stats
from crm_bridge.errors import DataError
from crm_bridge.ports import PartnerUpdate
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.services.partners.csv_input import raise_problems, read_rows

log = logging.getLogger("crm_bridge.partners")

COLUMNS = ("partner_id", "email", "name", "course_id", "course_name", "completed_at", "certified")
_YES = {"1", "yes", "y", "true", "да", "+"}
_NO = {"0", "no", "n", "false", "нет", "-"}


@dataclass(frozen=True, slots=True)
class TrainingImport:
    rows: int
    new: int  # not stored before (a completion imported again is not counted twice)
    partners: int


def parse_moment(text: str, tz: ZoneInfo) -> datetime:
    """``2026-11-05``, ``2026-11-05T14:30:00+03:00``, ``05.11.2026``, or Unix seconds; a date or a
    naive time is read in the company's zone. ValueError naming the accepted forms."""
    value = text.strip()
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    for parse in (datetime.fromisoformat, lambda v: datetime.strptime(v, "%d.%m.%Y")):
        try:
            moment = parse(value)
        except ValueError:
            continue
        if isinstance(moment, datetime):
            return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (use 2026-11-05, 05.11.2026 or an ISO time)") from None
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


class TrainingService:
    def __init__(self, life: Lifecycle) -> None:
        self.life = life
        self.cfg = life.settings.training
        self.tz = ZoneInfo(life.settings.timezone)

    def partner_for(self, partner_id: str, email: str) -> str | None:
        """The partner a completion belongs to: the id given, else the e-mail's domain in
        ``training.partner_domains``."""
        if partner_id:
            return partner_id
        domain = email.rpartition("@")[2].casefold()
        mapped = {d.casefold(): p for d, p in self.cfg.partner_domains.items()}
        return mapped.get(domain)

    def certifies(self, course_id: str, given: bool | None) -> bool:
        if given is not None:
            return given
        return not self.cfg.certifying_courses or course_id in self.cfg.certifying_courses

    def record(self, completions: Sequence[Completion]) -> int:
        """Store completions (each once); DataError when one names an unknown partner."""
        known = set(self.life.partners())
        unknown = sorted({c.partner_id for c in completions} - known)
        if unknown:
            raise DataError(
                f"no such partner(s) in the state store: {', '.join(unknown)} (run sync)", where="training"
            )
        return self.life.store.training.add(self.life.portal, completions)

    def import_csv(self, path: Path) -> TrainingImport:
        """Columns: ``email``, ``course_id``, ``completed_at`` and optionally ``partner_id`` (else the
        e-mail domain maps it), ``name``, ``course_name``, ``certified`` (yes/no; default: the course
        is in ``training.certifying_courses``, or every course when that list is empty)."""
        rows = read_rows(path, ("email", "course_id", "completed_at"), COLUMNS)
        known = set(self.life.partners())
        problems: list[str] = []
        found: list[Completion] = []
        for number, row in rows:
            where = f"row {number}"
            email = row.get("email", "")
            if "@" not in email or email.startswith("@") or email.endswith("@"):
                problems.append(f"{where}: email: {email!r} is not an e-mail address")
                continue
            pid = self.partner_for(row.get("partner_id", ""), email)
            if pid is None:
                problems.append(
                    f"{where}: no partner_id and the domain of {email!r} is not in training.partner_domains"
                )
                continue
            if pid not in known:
                problems.append(f"{where}: partner_id {pid!r} is not a partner in the state store (run sync)")
                continue
            if not row.get("course_id"):
                problems.append(f"{where}: course_id is empty")
                continue
            try:
                moment = parse_moment(row.get("completed_at", ""), self.tz)
            except ValueError as exc:
                problems.append(f"{where}: completed_at: {exc}")
                continue
            flag = row.get("certified", "").strip().casefold()
            if flag and flag not in _YES | _NO:
                problems.append(f"{where}: certified: {row['certified']!r} (use yes or no)")
                continue
            given = None if not flag else flag in _YES
            found.append(
                Completion(
                    pid,
                    email,
                    row["course_id"],
                    moment,
                    row.get("name", ""),
                    row.get("course_name", ""),
                    self.certifies(row["course_id"], given),
                    "csv",
                )
            )
        raise_problems(path, problems)
        new = self.life.store.training.add(self.life.portal, found)
        return TrainingImport(len(found), new, len({c.partner_id for c in found}))

    def stats(self, at: datetime) -> dict[str, TrainingStats]:
        return training_stats(
            self.life.store.training.all(self.life.portal), at, valid_days=self.cfg.certificate_valid_days
        )

    def certified_people(self, at: datetime) -> dict[str, int]:
        """People holding a valid certificate per partner at ``at`` (the tier threshold's metric)."""
        return {pid: s.certified_people for pid, s in self.stats(at).items()}

    def push(self, now: datetime) -> int:
        """Write ``certified_people`` and ``training_completed`` to every partner with completions
        whose card does not show them yet. Returns how many partners were written."""
        life = self.life
        partners = life.partners()
        state = life.store.get_state(life.portal, "training_pushed") or {}
        updates = []
        for pid, s in sorted(self.stats(now).items()):
            if pid not in partners:
                continue
            shown = {"certified_people": s.certified_people, "trained": s.certified_people > 0}
            if state.get(pid) == shown:
                continue
            fields = {"certified_people": s.certified_people, "training_completed": s.certified_people > 0}
            updates.append((pid, shown, PartnerUpdate(pid, fields)))
        pushed = 0
        for i in range(0, len(updates), 50):
            chunk = updates[i : i + 50]
            for (pid, shown, _), out in zip(
                chunk, life.crm.update_partners([u for *_, u in chunk]), strict=True
            ):
                if out.ok:
                    state[pid] = shown
                    pushed += 1
                else:
                    log.warning("training of partner %s not pushed: %s", pid, out.error)
            life.store.set_state(life.portal, "training_pushed", state)
        return pushed
