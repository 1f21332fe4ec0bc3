"""The real browser of the portal's browser tests: Debian's Chromium (``apt-get install chromium``)
driven by Playwright through its executable path -- no browser build is ever downloaded
(PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1; never ``playwright install``). Without the binary the tests skip
with one line locally and fail under CI=true. ``LiveServer`` serves a FastAPI app with uvicorn on a
free local port in a thread."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
NOTES_SCREENS = Path("/work/notes/screens")


def chromium_path() -> str:
    """The Chromium binary, or skip (locally) / fail (CI=true) saying how to get it."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    found = os.environ.get("CRM_BRIDGE_CHROMIUM") or next(
        (p for p in CHROMIUM_CANDIDATES if Path(p).is_file()), shutil.which("chromium") or ""
    )
    if found:
        return found
    reason = "browser tests need Debian's Chromium: apt-get install -y chromium"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1:<free port> until ``stop``; ``started`` waits on uvicorn's
    own flag, not on time."""

    def __init__(self, app: Any) -> None:
        self.port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        ready = threading.Event()
        while not self.server.started and self.thread.is_alive():
            ready.wait(0.02)
        if not self.server.started:
            raise RuntimeError("uvicorn did not start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Screens:
    """Screenshots of each page at desktop and phone width into the test's folder, a copy of each in
    /work/notes/screens when that folder can be written (a developer's machine)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def shoot(self, page: Any, name: str) -> None:
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            target = self.folder / f"{name}-{label}.png"
            page.screenshot(path=str(target), full_page=True)
            self.taken.append(target)
            self._copy(target)
        page.set_viewport_size(DESKTOP)

    def _copy(self, target: Path) -> None:
        try:
            NOTES_SCREENS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, NOTES_SCREENS / target.name)
        except OSError:
            pass
