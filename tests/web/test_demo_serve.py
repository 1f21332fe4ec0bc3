"""``crm-bridge demo --serve`` end to end in a child process: after the demo it prints a partner's
sign-in link and the dashboard's secret; both open their pages on the daemon it runs (jobs, intake API,
portal and dashboard on one port); SIGTERM stops it with status 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests


def _read_until(process: subprocess.Popen[str], marker: str) -> str:
    """Lines of the child's output up to the one holding ``marker`` (blocking reads, no timing)."""
    seen = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError("the demo ended before printing " + marker + ":\n" + "".join(seen))


@pytest.mark.slow
def test_demo_serve_prints_a_working_portal_link_and_dashboard_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CRM_BRIDGE_ADMIN_TOKEN"}
    env["COLUMNS"] = "200"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crm_bridge",
            "demo",
            "--serve",
            "--port",
            "0",
            "--no-rate-limit",
            "--out",
            str(tmp_path / "demo"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = _read_until(process, "CRM_BRIDGE_ADMIN_TOKEN")
        link = re.search(r"(http://127\.0\.0\.1:\d+)/portal/signin#(cbp_\S+)", printed)
        secret = re.search(r"CRM_BRIDGE_ADMIN_TOKEN\): (\S+)", printed)
        assert link is not None and secret is not None, printed
        base, key = link.group(1), link.group(2)

        partner = requests.Session()
        partner.get(f"{base}/portal/signin", timeout=30)
        answer = partner.post(
            f"{base}/portal/signin", data={"key": key, "csrf": partner.cookies["cb_csrf"]}, timeout=30
        )
        assert (
            answer.status_code == 200 and answer.url == f"{base}/portal/" and 'id="leads"' not in answer.text
        )
        assert "/portal/register" in answer.text

        head = requests.Session()
        head.get(f"{base}/admin/signin", timeout=30)
        board = head.post(
            f"{base}/admin/signin",
            data={"token": secret.group(1), "csrf": head.cookies["cb_csrf"]},
            timeout=30,
        )
        assert board.status_code == 200 and 'id="funnels"' in board.text
        assert requests.get(f"{base}/healthz", timeout=30).status_code in (200, 503)
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=60)
    assert status == 0
