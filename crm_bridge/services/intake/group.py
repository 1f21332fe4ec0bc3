"""Group commit for the intake API: the submissions of partners arriving at the same moment are counted
and registered together, one state-store transaction (one commit, one disk flush) for the whole group
instead of one per submission. On SQLite a commit waits for the disk and only one writer commits at a
time, so with 50 partners at once the time to answer was the queue of their commits; grouped, a
submission waits for at most the group being written and its own.

The first caller to find nobody writing writes every item queued so far (its own among them), then
hands the lead to the oldest caller still waiting, so that nobody answers late because they happened to
write for others. A failure of the group's write is every item's failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_GROUP = 500  # items written in one transaction at most


class _Slot(Generic[T, R]):
    __slots__ = ("error", "finished", "item", "lead", "result", "wake")

    def __init__(self, item: T) -> None:
        self.item = item
        self.wake = threading.Event()  # set when finished, or when handed the lead
        self.finished = False
        self.lead = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """``group(item)`` returns ``handle([...items])[i]`` for its item, ``handle`` called for the items of
    the callers waiting together (in arrival order; at most ``max_items`` at a time)."""

    def __init__(self, handle: Callable[[Sequence[T]], Sequence[R]], *, max_items: int = MAX_GROUP) -> None:
        self._handle = handle
        self._max = max(1, max_items)
        self._lock = threading.Lock()
        self._queue: list[_Slot[T, R]] = []
        self._leading = False

    def __call__(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            lead = not self._leading
            self._leading = True
        if not lead:
            slot.wake.wait()
            if not slot.lead:
                return self._answer(slot)
        while not slot.finished:
            with self._lock:
                group, self._queue = self._queue[: self._max], self._queue[self._max :]
            self._write(group)
        with self._lock:  # hand the lead on, or give it up when nobody waits
            if self._queue:
                heir = self._queue[0]
                heir.lead = True
                heir.wake.set()
            else:
                self._leading = False
        return self._answer(slot)

    def _write(self, group: list[_Slot[T, R]]) -> None:
        try:
            results = list(self._handle([s.item for s in group]))
            if len(results) != len(group):
                raise AssertionError("invariant broken: one result per grouped item")
        except BaseException as exc:  # every waiting caller hears of it (and this one re-raises below)
            for s in group:
                s.error = exc
                s.finished = True
                s.wake.set()
            return
        for s, result in zip(group, results, strict=True):
            s.result = result
            s.finished = True
            s.wake.set()

    @staticmethod
    def _answer(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]
