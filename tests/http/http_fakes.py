"""Fakes for the HTTP layer tests: a manual clock whose sleep advances it, and a shared bucket."""

from __future__ import annotations

import random
import threading

from crm_bridge.http import HttpClient, HttpPolicy

BASE = "https://crm.example.test/api"


class ManualClock:
    """Unix time that only moves when someone sleeps; records every sleep."""

    def __init__(self, now: float = 1_764_158_400.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


class RecordingBucket:
    """A ``ports.BucketStore`` that several clients share (as the state store is shared by processes),
    recording each ``take``."""

    def __init__(self) -> None:
        self.levels: dict[str, tuple[float, float]] = {}
        self.takes: list[tuple[str, float, float, float]] = []

    def take(self, key: str, *, capacity: float, drain_per_second: float, now: float) -> float:
        self.takes.append((key, capacity, drain_per_second, now))
        level, updated = self.levels.get(key, (0.0, now))
        level = max(0.0, level - (now - updated) * drain_per_second)
        if level + 1 <= capacity:
            self.levels[key] = (level + 1, now)
            return 0.0
        return (level + 1 - capacity) / drain_per_second


def client(clock: ManualClock, **policy: object) -> HttpClient:
    fields: dict[str, object] = {"name": "testcrm", "base_url": BASE, "max_retries": 3}
    fields.update(policy)
    return HttpClient(HttpPolicy(**fields), clock=clock, sleep=clock.sleep, rng=random.Random(7))  # type: ignore[arg-type]
