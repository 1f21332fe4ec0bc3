"""Pytest fixtures that run an emulated CRM on a free local port (registered in tests/conftest.py).

* ``make_sandbox(kind, **opts)`` — a factory: ``make_sandbox("bitrix24", seed={...})`` returns a started
  ``crm_bridge.sandbox.server.Sandbox``; every sandbox it made is stopped at teardown. Defaults for
  tests: zero latency and the CRM's rate limits off; any ``Sandbox`` keyword overrides them
  (``rate_limit=True``, ``latency_ms=…``, ``faults=FaultPlan(...)``, ``emulator_options={...}``,
  ``sleep=recorder``).
* ``bitrix24_sandbox``, ``amocrm_sandbox``, ``hubspot_sandbox`` — one started sandbox of that CRM with
  those defaults.

What a test gets from a sandbox: ``sb.base_url``; ``sb.config_snippet()`` with the ``crm:`` config
section, the ``env`` variables it references (B24_WEBHOOK_URL, AMOCRM_ACCESS_TOKEN,
HUBSPOT_ACCESS_TOKEN) and OAuth credentials; ``sb.emulator.seed(data)`` / ``sb.emulator.dump()``;
``sb.requests()`` and ``sb.counts()`` (the request log); ``sb.faults.set(FaultPlan(...))``;
``sb.advance(seconds)`` to move the CRM's clock (token expiry, rate-limit windows); ``sb.reset()``.

* ``answer_gate`` — an ``AnswerGate`` to pass as a sandbox's ``sleep=`` (with ``sb.latency`` above 0, so
  the sandbox calls it on every answer): a test kills a client while the CRM's answer is held instead
  of racing it (``hold(when)``, wait on ``held``, kill, ``release()``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from crm_bridge.sandbox.server import Sandbox

MakeSandbox = Callable[..., Sandbox]
PATIENCE = 120.0  # upper bound for a process to reach a state; never asserted on as a duration


class AnswerGate:
    """The sandbox's sleep: plain ``time.sleep`` until ``hold`` is given a condition; from then on every
    answer that finds the condition true is held until ``release`` (the CRM has done the work, the answer
    has not gone out), so a test can kill a client mid-request without racing it. ``passing`` answers
    that find the condition true go out first: ``hold(when, passing=1)`` lets the answer to the request
    that made ``when`` true reach the client and holds the next one (a client that sends one request at
    a time has then taken that answer in). The condition is read after the CRM did the request's work,
    so it should look at the CRM's records, not at the request log (an answer is logged after it)."""

    def __init__(self) -> None:
        self._when: Callable[[], bool] = lambda: False
        self._passing = 0
        self._released = threading.Event()
        self._inside = 0
        self._lock = threading.Condition()
        self.held = threading.Event()

    def hold(self, when: Callable[[], bool], passing: int = 0) -> None:
        with self._lock:
            self._released.clear()
            self.held.clear()
            self._passing = passing
            self._when = when

    def release(self) -> None:
        """Let every held answer go and wait until they are out of the gate (at most PATIENCE)."""
        with self._lock:
            self._when = lambda: False
            self._released.set()
            self._lock.wait_for(lambda: self._inside == 0, PATIENCE)

    def __call__(self, seconds: float) -> None:
        time.sleep(seconds)
        with self._lock:
            if not self._when():
                return
            if self._passing > 0:
                self._passing -= 1
                return
            self._inside += 1
            self.held.set()
        try:
            self._released.wait(PATIENCE)
        finally:
            with self._lock:
                self._inside -= 1
                self._lock.notify_all()


@pytest.fixture
def answer_gate() -> AnswerGate:
    return AnswerGate()


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    made: list[Sandbox] = []

    def make(kind: str, **options: Any) -> Sandbox:
        settings: dict[str, Any] = {"latency_ms": 0.0, "per_record_ms": 0.0, "rate_limit": False}
        settings.update(options)
        sandbox = Sandbox(kind, **settings)
        made.append(sandbox)
        sandbox.start()
        return sandbox

    yield make
    for sandbox in made:
        sandbox.stop()


@pytest.fixture
def bitrix24_sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox("bitrix24")


@pytest.fixture
def amocrm_sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox("amocrm")


@pytest.fixture
def hubspot_sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox("hubspot")
