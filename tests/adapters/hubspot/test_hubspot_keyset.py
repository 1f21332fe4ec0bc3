"""How a HubSpot backfill cuts the ``hs_object_id`` range into search windows (``KeysetPlan``): whole
pages of ids per window, at least two windows per worker and no more than one per 20 pages, wider
windows where ids are sparse, a full page below a window's top goes on from its last id before any new
window, and ``done_through`` reaches the top only once every window has answered."""

from __future__ import annotations

import pytest

from crm_bridge_hubspot.keyset import KeysetPlan, Window


def windows(plan: KeysetPlan) -> list[Window]:
    return plan.take(10_000)


@pytest.mark.parametrize(
    ("lo", "top", "rows", "workers", "expected"),
    [
        # 5 dense pages, 2 workers: 4 windows wanted, so 2 pages (400 ids) a window
        (0, 1000, 1000, 2, [Window(0, 400), Window(400, 800), Window(800, 1000)]),
        (1000, 2000, 1000, 2, [Window(1000, 1400), Window(1400, 1800), Window(1800, 2000)]),
        # one worker: 2 windows of 3 pages
        (0, 1000, 1000, 1, [Window(0, 600), Window(600, 1000)]),
        # 100 rows over 1000 ids: one page holds the whole range
        (0, 1000, 100, 1, [Window(0, 1000)]),
        # a total above the range's width: still one row per id at most
        (0, 1000, 1500, 1, [Window(0, 800), Window(800, 1000)]),
        # 60 pages, 1 worker: no more than one window per 20 pages -> 3 windows of 20 pages
        (0, 12_000, 12_000, 1, [Window(0, 4000), Window(4000, 8000), Window(8000, 12_000)]),
        (5, 6, 1, 4, [Window(5, 6)]),  # one id, one record
        (0, 1000, 0, 2, []),  # nothing to read
        (7, 7, 10, 2, []),  # an empty range
    ],
)
def test_a_backfill_range_is_cut_into_windows_of_whole_pages(
    lo: int, top: int, rows: int, workers: int, expected: list[Window]
) -> None:
    assert windows(KeysetPlan(lo, top, rows, 200, workers)) == expected


def test_windows_are_taken_a_count_at_a_time_lowest_first() -> None:
    plan = KeysetPlan(0, 1000, 1000, 200, 2)

    assert plan.take(1) == [Window(0, 400)]
    assert plan.take(5) == [Window(400, 800), Window(800, 1000)]


def test_a_full_page_below_the_windows_top_goes_on_from_its_last_id_first() -> None:
    plan = KeysetPlan(0, 1000, 1000, 200, 2)
    first, second = plan.take(2)

    plan.answered(first, list(range(1, 201)))  # exactly a page, ending at 200 of 400

    assert plan.take(1) == [Window(200, 400)]
    assert plan.done_through() == 200


def test_done_through_reaches_the_top_when_every_window_has_answered() -> None:
    plan = KeysetPlan(0, 1000, 1000, 200, 2)
    taken = plan.take(10)
    for window in taken[:-1]:
        plan.answered(window, [window.hi])

    before = plan.done_through()
    plan.answered(taken[-1], [1000])

    assert (before, plan.done_through(), plan.finished) == (800, 1000, True)
