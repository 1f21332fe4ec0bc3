"""No secret from the environment reaches anything a verb prints or logs: every verb of ``crm-bridge``
runs as an operator runs it (a process of the console script, ``-v`` for debug logging, which also
logs each HTTP request's URL) against a Bitrix24 sandbox whose webhook URL carries its secret in the
path, with the dashboard's, the bot's and the store's secrets in the environment too; stdout and
stderr are scanned for each of them. The daemon (``run``) and the long-running ``sandbox`` are
stopped as Ctrl-C stops them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest

from crm_bridge.cli import VERBS
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.services.demo.run import run_demo

pytestmark = pytest.mark.slow

ADMIN_TOKEN = "adm1n-d4shb0ard-s3cret"  # noqa: S105 (a test value)
BOT_TOKEN = "987654:b0t-t0ken-s3cretABCDEF"  # noqa: S105
SMTP_PASSWORD = "smtp-p4ssw0rd-s3cret"  # noqa: S105

# One invocation per verb (``{dir}`` is the test's directory); a new verb must be added here.
INVOCATIONS: dict[str, tuple[str, ...]] = {
    "validate": (),
    "funnels": (),
    "doctor": (),
    "users": (),
    "provision": (),
    "sync": ("--once",),
    "run": ("--no-http",),
    "status": (),
    "state": ("backup", "{dir}/backup.db"),
    "intake": ("import", "{dir}/leads.csv"),
    "tiers": ("evaluate",),
    "partners": ("onboard",),
    "plans": ("show",),
    "training": ("show",),
    "report": (),
    "rewards": (),
    "sandbox": ("--crm", "bitrix24", "--port", "0", "--latency-ms", "0"),
    "demo": ("--out", "{dir}/demo", "--no-rate-limit"),
    "secrets": ("generate-key",),
    "db": ("current",),
}
# Long-running verbs get Ctrl-C once they have done what is scanned, not after a fixed time: the daemon
# once its first sync has finished (started with the daemon, it calls the CRM), the sandbox once it
# has printed where it listens. A line of stdout or stderr matching the pattern is the event.
LONG_RUNNING = {"run": re.compile(r"job sync (done|failed)"), "sandbox": re.compile(r"sandbox listening on ")}
PATIENCE = 300.0  # seconds: a verb, or a long-running verb's event, that takes longer has hung
# Verbs that call the CRM: with -v their debug log names each request's URL, secret path and all
# (the demo too, which loads no settings: -v and the redaction apply to it all the same).
CALLS_THE_CRM = {"doctor", "users", "sync", "demo", "run"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], list[str]]]:
    """A demo network on a sandbox; the config, the environment, and the secrets that must not show."""
    out = tmp_path_factory.mktemp("redaction")
    # a secret of its own: the `sandbox` verb below starts another sandbox and prints that one's URL (the
    # emulator's default secret) on purpose, which is not a leak of this environment's secret
    with Sandbox("bitrix24", emulator_options={"webhook_secret": "r3dact10nw0rld42"}) as sb:
        run_demo(out, sb, now=datetime.now(UTC), per_type=3, months=3, fresh_leads=4)
        webhook = sb.config_snippet()["env"]["B24_WEBHOOK_URL"]
        secret_path = webhook.rstrip("/").rsplit("/", 1)[-1]  # .../rest/1/<secret>/
        config = out / "config.yaml"
        partner = sb.emulator.dump()["records"]["company"][1]["ID"]
        (out / "leads.csv").write_text(
            "partner_id,customer_name,email,phone,tax_id,amount,comment\n"
            f"{partner},ООО Ромашка,buyer@romashka.example,+7 916 123-45-67,,150000,\n",
            encoding="utf-8",
        )
        env = {
            "B24_WEBHOOK_URL": webhook,
            "CRM_BRIDGE_ADMIN_TOKEN": ADMIN_TOKEN,
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "SMTP_PASSWORD": SMTP_PASSWORD,
            "CRM_BRIDGE_CONFIG": str(config),
            "COLUMNS": "120",
        }
        yield out, env, [secret_path, ADMIN_TOKEN, BOT_TOKEN, SMTP_PASSWORD]


def test_every_verb_has_an_invocation_here() -> None:
    assert set(INVOCATIONS) == set(VERBS)


@pytest.mark.parametrize("verb", list(INVOCATIONS))
def test_no_secret_from_the_environment_is_printed_or_logged_by_the_verb(
    verb: str, world: tuple[Path, dict[str, str], list[str]]
) -> None:
    out, env, secrets = world
    args = [a.format(dir=out) for a in INVOCATIONS[verb]]
    base = {k: v for k, v in os.environ.items() if not k.startswith("CRM_BRIDGE_")}
    command = [sys.executable, "-c", "from crm_bridge.cli import main; main()", "-v", verb, *args]
    process = subprocess.Popen(  # noqa: S603 (our own console script)
        command, cwd=out, env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if verb in LONG_RUNNING:
        printed, logged = _interrupt_once(process, LONG_RUNNING[verb])
    else:
        try:
            printed, logged = process.communicate(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            pytest.fail(f"{verb} did not finish in {PATIENCE:.0f} s")

    assert printed or logged, verb  # the verb said something (else the scan proves nothing)
    if verb in CALLS_THE_CRM:
        assert " DEBUG urllib3" in logged, verb  # the requests were logged, and the scan saw them
    for secret in secrets:
        assert secret not in printed, (verb, secret)
        assert secret not in logged, (verb, secret)


def _interrupt_once(process: subprocess.Popen[str], event: re.Pattern[str]) -> tuple[str, str]:
    """Read the process's stdout and stderr until a line matches ``event``, then Ctrl-C it (SIGINT) and
    read the rest; returns (stdout, stderr). Fails when the event does not come in PATIENCE seconds."""
    seen = threading.Event()
    streams: dict[str, list[str]] = {"out": [], "err": []}

    def read(name: str, stream: IO[str]) -> None:
        for line in stream:
            streams[name].append(line)
            if event.search(line):
                seen.set()

    assert process.stdout is not None and process.stderr is not None
    readers = [
        threading.Thread(target=read, args=("out", process.stdout), daemon=True),
        threading.Thread(target=read, args=("err", process.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    came = seen.wait(PATIENCE)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for reader in readers:
        reader.join(timeout=60)
    assert came, f"no line matching {event.pattern!r} in {PATIENCE:.0f} s: {''.join(streams['err'])[-2000:]}"
    return "".join(streams["out"]), "".join(streams["err"])
