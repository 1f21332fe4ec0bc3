"""``crm-bridge sandbox`` as a user runs it: a real process that prints the URL, the variables to export
and the config section, answers requests, keeps its data in --state across restarts, and exits 0 on
SIGTERM; bad input files are one-line errors with exit status 2."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import requests

from crm_bridge.cli import main

STARTUP_LINES = 40
PATIENCE = 120.0  # only so a broken build cannot hang; nothing is timed


class Running:
    """A ``crm-bridge sandbox`` process and the lines it printed."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-c", "from crm_bridge.cli import main; main()", "sandbox", *args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        self.pump = threading.Thread(target=self._pump, args=(stdout,), daemon=True)
        self.pump.start()
        self.printed: list[str] = []
        while not self.printed or not self.printed[-1].startswith("Stop with"):
            self.printed.append(self.lines.get(timeout=PATIENCE))
            assert len(self.printed) < STARTUP_LINES, self.printed

    def _pump(self, stdout: IO[str]) -> None:
        for line in stdout:
            self.lines.put(line.rstrip("\n"))

    @property
    def base_url(self) -> str:
        return self.printed[0].rsplit(" ", 1)[-1]

    def env(self) -> dict[str, str]:
        pairs = [line.split("export ", 1)[1] for line in self.printed if line.strip().startswith("export ")]
        return dict(pair.split("=", 1) for pair in pairs)

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=PATIENCE)
        self.pump.join(PATIENCE)  # every line it printed is read (the pipe's end), not only those so far
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, "\n".join(rest)


@pytest.fixture
def started() -> Iterator[list[Running]]:
    processes: list[Running] = []
    yield processes
    for p in processes:
        if p.process.poll() is None:
            p.process.kill()
            p.process.wait(timeout=PATIENCE)


def test_the_sandbox_prints_how_to_connect_answers_and_stops_cleanly_on_sigterm(
    started: list[Running],
) -> None:
    sandbox = Running("--crm", "bitrix24", "--port", "0", "--latency-ms", "0")
    started.append(sandbox)

    webhook = sandbox.env()["B24_WEBHOOK_URL"]
    answer = requests.get(f"{webhook}scope", timeout=10)
    code, tail = sandbox.stop()

    assert sandbox.base_url.startswith("http://127.0.0.1:") and webhook.startswith(
        sandbox.base_url + "/rest/1/"
    )
    assert (
        "    kind: bitrix24" in sandbox.printed and "      webhook_url: ${B24_WEBHOOK_URL}" in sandbox.printed
    )
    assert answer.status_code == 200 and "crm" in answer.json()["result"]
    assert (code, tail) == (0, "sandbox stopped")


def test_the_state_file_keeps_records_across_restarts(started: list[Running], tmp_path: Path) -> None:
    seed, state = tmp_path / "seed.json", tmp_path / "portal.json"
    seed.write_text(json.dumps({"companies": [{"TITLE": "Seeded"}]}), encoding="utf-8")
    first = Running(
        "--crm", "bitrix24", "--port", "0", "--latency-ms", "0", "--seed", str(seed), "--state", str(state)
    )
    started.append(first)
    requests.post(
        first.env()["B24_WEBHOOK_URL"] + "crm.company.add", json={"fields": {"TITLE": "Added"}}, timeout=10
    )
    code, tail = first.stop()

    second = Running(
        "--crm", "bitrix24", "--port", "0", "--latency-ms", "0", "--seed", str(seed), "--state", str(state)
    )
    started.append(second)
    listed = requests.post(second.env()["B24_WEBHOOK_URL"] + "crm.company.list", json={}, timeout=10).json()
    second.stop()

    assert (code, tail) == (0, f"sandbox stopped; state saved to {state}")
    assert "seeded 1 records" in first.printed[1] and "state restored" in second.printed[1]
    assert [c["TITLE"] for c in listed["result"]] == ["Seeded", "Added"]


def test_a_hubspot_sandbox_prints_its_token_and_accepts_it(started: list[Running]) -> None:
    sandbox = Running("--crm", "hubspot", "--port", "0", "--latency-ms", "0", "--rate-limit", "off")
    started.append(sandbox)

    token = sandbox.env()["HUBSPOT_ACCESS_TOKEN"]
    owners = requests.get(
        f"{sandbox.base_url}/crm/v3/owners", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    sandbox.stop()

    assert owners.status_code == 200
    assert f"      base_url: {sandbox.base_url}" in sandbox.printed


def test_a_bad_seed_file_is_one_line_and_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken, wrong = tmp_path / "broken.json", tmp_path / "wrong.json"
    broken.write_text("{not json", encoding="utf-8")
    wrong.write_text(json.dumps({"planets": []}), encoding="utf-8")

    codes = [
        main(["sandbox", "--crm", "bitrix24", "--port", "0", "--seed", str(broken)]),
        main(["sandbox", "--crm", "bitrix24", "--port", "0", "--seed", str(wrong)]),
        main(["sandbox", "--crm", "bitrix24", "--port", "0", "--seed", str(tmp_path / "missing.json")]),
        main(["sandbox", "--crm", "amocrm", "--port", "0", "--plan", "enterprise"]),
    ]

    errors = capsys.readouterr().err.splitlines()
    assert codes == [2, 2, 2, 2]
    assert errors == [
        f"error: --seed {broken}: not valid JSON: Expecting property name enclosed in double quotes:"
        " line 1 column 2 (char 1)",
        f"error: --seed {wrong}: unknown seed key(s): planets",
        f"error: --seed {tmp_path / 'missing.json'}: cannot read it (No such file or directory)",
        "error: --plan: the amocrm sandbox has no plans",
    ]
