"""Event delivery shared by every emulator: the CRM's outbound webhooks are POSTed from one background
thread (``WebhookSender``), so a slow receiver never slows the emulated API. Each emulator renders its
own payloads; this only carries them."""

from __future__ import annotations

import queue
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

Deliver = Callable[[str, bytes, dict[str, str]], None]


class WebhookSender:
    """POSTs queued deliveries from one background thread, so a slow receiver never slows the API.
    Failed deliveries are recorded and dropped; ``flush()`` waits for the queue to drain."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.log: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()
        self._queue.put((url, body, headers))

    def flush(self, timeout: float = 10.0) -> None:
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout)

    def _run(self) -> None:
        while True:
            url, body, headers = self._queue.get()
            entry: dict[str, Any] = {"url": url, "bytes": len(body)}
            try:
                request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (the http:// URL a test registered)
                    entry["status"] = answer.status
            except Exception as exc:  # a failed delivery is logged and dropped, never raised
                entry["error"] = type(exc).__name__
            self.log.append(entry)
            self._queue.task_done()
