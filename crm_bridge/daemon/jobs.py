"""One scheduled job run: time it, catch ``CrmBridgeError`` (log it redacted, keep the daemon alive),
and keep per-job status for ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from crm_bridge.errors import CrmBridgeError

log = logging.getLogger("crm_bridge.daemon.jobs")


class JobObserver(Protocol):
    """Where job outcomes go (the metrics registry): name, seconds taken, whether it succeeded."""

    def job_finished(self, name: str, seconds: float, ok: bool, finished_at: float) -> None: ...


@dataclass
class JobStatus:
    runs: int = 0
    failures: int = 0
    last_success: datetime | None = None
    last_error: str | None = None
    last_duration: float | None = None
    running: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "failures": self.failures,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_error": self.last_error,
            "last_duration_seconds": self.last_duration,
            "running": self.running,
        }


class JobRunner:
    """Callable the scheduler runs. ``redact`` cleans error text before it is logged or shown."""

    def __init__(
        self,
        name: str,
        fn: Callable[[], object],
        *,
        observer: JobObserver | None = None,
        redact: Callable[[str], str] = lambda text: text,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._fn = fn
        self._observer = observer
        self._redact = redact
        self._clock = clock
        self._lock = threading.Lock()
        self.status = JobStatus()

    def __call__(self) -> bool:
        """Run the job once; True when it succeeded. Never raises (a bug is logged with its type)."""
        with self._lock:
            self.status.running = True
        started = time.monotonic()
        ok = False
        error: str | None = None
        try:
            self._fn()
            ok = True
        except CrmBridgeError as exc:
            error = self._redact(f"{type(exc).__name__}: {exc}")
            log.error("job %s failed: %s", self.name, error)
        except Exception as exc:  # a bug must not stop the other jobs; the traceback only at debug
            error = self._redact(f"internal error {type(exc).__name__}: {exc}")
            log.error("job %s failed: %s", self.name, error)
            log.debug("job %s traceback", self.name, exc_info=True)
        seconds = time.monotonic() - started
        now = self._clock()
        with self._lock:
            st = self.status
            st.running = False
            st.runs += 1
            st.last_duration = seconds
            if ok:
                st.last_success = datetime.fromtimestamp(now, UTC)
                st.last_error = None
            else:
                st.failures += 1
                st.last_error = error
        if self._observer is not None:
            self._observer.job_finished(self.name, seconds, ok, now)
        if ok:
            log.info("job %s done in %.2fs", self.name, seconds)
        return ok
