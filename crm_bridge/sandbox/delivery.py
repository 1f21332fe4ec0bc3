"""Event delivery shared by every emulator: the CRM's outbound webhooks are POSTed from one background
thread (``WebhookSender``), so a slow receiver never slows the emulated API. Each emulator renders its
own payloads; this only carries them."""

from __future__ import annotations

import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

Deliver = Callable[[str, bytes, dict[str, str]], None]


class WebhookSender:
    """POSTs queued deliveries from one background thread, so a slow receiver never slows the API.
    A delivery that fails (no answer, or a status outside 2xx) is tried again up to ``retries`` times,
    ``retry_delay`` seconds after the first failure, doubling each time up to 8 s (the CRMs retry over
    hours; the sandbox compresses that), then dropped; every attempt is logged. ``flush()`` waits for
    the queue to drain."""

    def __init__(self, timeout: float = 5.0, *, retries: int = 0, retry_delay: float = 0.5) -> None:
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.log: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str], int]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()
        self._queue.put((url, body, headers, 0))

    def flush(self, timeout: float = 10.0) -> None:
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout)

    def _run(self) -> None:
        while True:
            url, body, headers, attempt = self._queue.get()
            entry: dict[str, Any] = {"url": url, "bytes": len(body), "attempt": attempt}
            try:
                request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (the http:// URL a test registered)
                    entry["status"] = answer.status
            except urllib.error.HTTPError as exc:
                entry["status"] = exc.code
            except Exception as exc:  # a failed delivery is logged (and retried), never raised
                entry["error"] = type(exc).__name__
            self.log.append(entry)
            failed = "error" in entry or not 200 <= int(entry["status"]) < 300
            if failed and attempt < self.retries:
                self._retry_later((url, body, headers, attempt + 1))
            self._queue.task_done()

    def _retry_later(self, item: tuple[str, bytes, dict[str, str], int]) -> None:
        """Queue ``item`` again after ``retry_delay``; until then it counts as unfinished work, so
        ``flush()`` waits for retries too."""
        with self._queue.mutex:
            self._queue.unfinished_tasks += 1

        def requeue() -> None:
            self._queue.put(item)
            self._queue.task_done()  # the placeholder taken above

        timer = threading.Timer(min(8.0, self.retry_delay * 2 ** (item[3] - 1)), requeue)
        timer.daemon = True
        timer.start()
