"""Log injection: text partners or a CRM supply cannot forge a log record or drive the terminal. In
text logs newlines and control characters are escaped (a traceback follows on indented lines); JSON
logs stay one object per line. Hostile input goes in through the intake API, the CSV import and CRM
answers, and the log is read back line by line."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from crm_bridge.cli.output import configure_logging
from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.errors import CrmValidationError
from crm_bridge.fake import FakeClock, FakeCRM
from crm_bridge.ports import Entity, LeadDraft, WriteOutcome
from crm_bridge.redaction import redact
from crm_bridge.services.intake.api import IntakeApi
from crm_bridge.services.intake.csv_import import import_csv
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.services.intake.service import IntakeService
from crm_bridge.services.provision import provision
from crm_bridge.services.sync.pull import sync
from crm_bridge.store import Store, open_store
from crm_bridge.web import WebContext, create_app
from crm_bridge.web.server import WebServer

PORTAL = "fake:test"
FORGED = "2026-12-06 09:00:00,000 CRITICAL crm_bridge.auth: admin logged in"
HOSTILE = [
    f"x\n{FORGED}",
    f"x\r\n{FORGED}",
    f"x\r{FORGED}",
    f"x\u2028{FORGED}",
    f"x\x85{FORGED}",
    "x\x1b[2J\x1b[31mred\x1b]0;title\x07",
    "x\u202egnp.exe",
    "x\x00\x08\x7f",
]
RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ ")


class HostileCRM(FakeCRM):
    """A compromised (or just odd) CRM whose answers carry hostile text."""

    answer = HOSTILE[0]

    def create_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        if drafts and drafts[0].title.startswith("raise"):
            raise CrmValidationError(f"the CRM says: {self.answer}", crm="fake")
        return [WriteOutcome(d.external_id, None, error=f"the CRM says: {self.answer}") for d in drafts]

    def send_leads(self, drafts: Sequence[LeadDraft]) -> list[WriteOutcome]:
        return self.create_leads(drafts)


@pytest.fixture(params=["text", "json"])
def log_format(request: pytest.FixtureRequest) -> Iterator[str]:
    configure_logging(None, log_format=request.param, verbose=1)
    yield request.param
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_crm_bridge", False)]:
        root.removeHandler(handler)


def records(err: str, fmt: str) -> list[str]:
    """The log's lines, each checked to be one whole record (or an indented continuation)."""
    lines = err.split("\n")[:-1]
    for line in lines:
        assert not any(ch in line for ch in "\r\x1b\x85\u2028\u202e\x00"), repr(line)
        if fmt == "json":
            json.loads(line)
        else:
            assert RECORD_START.match(line) or line.startswith("    | "), repr(line)
    assert FORGED not in [json.loads(line)["message"] if fmt == "json" else line for line in lines]
    return lines


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


@pytest.fixture
def crm(store: Store, fake_clock: FakeClock) -> HostileCRM:
    fake = HostileCRM(clock=fake_clock)
    provision(fake, desired_layout(default_funnels(), "en", ["bronze", "gold"]))
    fake.seed_partner("ООО Альфа")
    sync(fake, store, PORTAL, now=fake_clock(), entities=[Entity.PARTNER])
    return fake


def test_hostile_text_in_a_csv_import_and_the_crm_refusals_stays_on_one_log_line(
    log_format: str,
    crm: HostileCRM,
    store: Store,
    fake_clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    partner = next(iter(crm.state.partners))
    lines = ["partner_id;customer_name;email;phone;tax_id;amount;comment"]
    for i, text in enumerate(HOSTILE):
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f"{quoted};Client {i};c{i}@example.ru;;;;")  # hostile partner ids: rejected
        lines.append(f"{partner};Client {i};d{i}@example.ru;;;;{quoted}")  # the CRM refuses these
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()

    for answer in HOSTILE:
        crm.answer = answer
        import_csv(path, IntakeService(crm, store, PORTAL), now=fake_clock())

    logged = records(capsys.readouterr().err, log_format)
    assert sum("rejected" in line for line in logged) >= 2 * len(HOSTILE)


def test_hostile_crm_answers_and_requests_through_the_api_stay_on_one_log_line(
    log_format: str, crm: HostileCRM, store: Store, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = ApiKeys(store.intake, PORTAL)
    key = keys.create(next(iter(crm.state.partners)), now=fake_clock()).key
    service = IntakeService(crm, store, PORTAL)
    api = IntakeApi(keys, service, fake_clock)
    app = create_app(WebContext(intake=api))
    writer = JobRunner("intake", lambda: service.drain(now=fake_clock(), linger=timedelta(0)), redact=redact)
    capsys.readouterr()
    with WebServer(app, "127.0.0.1", 0) as server:
        for i, answer in enumerate(HOSTILE):
            crm.answer = answer
            body = {"customer_name": f"raise {answer}", "email": f"r{i}@example.ru"}
            resp = requests.post(
                f"{server.url}/v1/leads", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10
            )
            assert resp.status_code == 202
            assert not writer()  # the intake writer's run: the CRM refuses with hostile text
        host, port = server.address
        with socket.create_connection((host, port), timeout=10) as raw:  # a hostile request line
            raw.sendall(
                b"GET /x\x1b[31m\x85\xe2\x80\xa8" + FORGED.encode().replace(b" ", b"_") + b" HTTP/1.0\r\n\r\n"
            )
            raw.recv(4096)
        # the same, percent-encoded: a valid request whose decoded path carries the control characters
        hostile_path = "/x%1B%5B31m%C2%85%E2%80%A8%0A" + FORGED.replace(" ", "%20")
        assert requests.get(f"{server.url}{hostile_path}", timeout=10).status_code == 404

    logged = records(capsys.readouterr().err, log_format)
    assert sum("job intake failed" in line for line in logged) == len(HOSTILE)
    assert any("http" in line and "/x" in line for line in logged)
