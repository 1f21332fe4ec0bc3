"""The daemon's intake writer: a thread that drains the API intake queue into the CRM in its largest
batches, woken by each accepted submission (and every ``poll`` seconds, so leads queued before a restart
or by another replica are not forgotten). One process drains at a time (store lock per portal); the
HTTP layer's shared rate budget paces it beside every other job."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from crm_bridge.daemon.jobs import JobRunner
from crm_bridge.services.intake.service import DrainReport

log = logging.getLogger("crm_bridge.daemon.intake")

WAIT_TO_FILL = 0.2  # seconds between drains while young leads wait for a fuller batch


class IntakeWriter:
    """``drain()`` drains once (holding the writer lock) and says whether young leads wait; ``runner``
    wraps it as the ``intake`` job (status in /healthz and /metrics)."""

    def __init__(
        self,
        drain: Callable[[], DrainReport],
        *,
        stopping: threading.Event,
        poll: float = 5.0,
        observer: object | None = None,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self._drain = drain
        self._stopping = stopping
        self._poll = poll
        self._wake = threading.Event()
        self._waiting = False
        self.runner = JobRunner("intake", self._once, observer=observer, redact=redact)  # type: ignore[arg-type]
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """A lead was queued: drain soon."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="intake-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _once(self) -> DrainReport:
        report = self._drain()
        self._waiting = report.waiting
        if report.handled:
            log.info(
                "intake writer: %d lead(s), %d created, %d refused, %d answer(s) lost and looked up",
                report.handled,
                report.created,
                report.failed,
                report.uncertain,
            )
        return report

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.runner()
            if self._stopping.is_set():
                break
            if self._waiting:  # young leads fill their batch: every submission need not wake us
                self._stopping.wait(WAIT_TO_FILL)
                continue
            self._wake.wait(self._poll)
            self._wake.clear()
