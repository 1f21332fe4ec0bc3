"""The windows of a sliced keyset walk (keyset.py) after a window overflowed: its rest is cut by the
density its full page showed, the walk's progress no longer waits for it, and the windows of new ground
follow the density learnt from every answer so far."""

from __future__ import annotations

from crm_bridge_bitrix24.keyset import Window, WindowPlan


def test_an_overflowed_window_continues_from_its_last_id_cut_by_that_pages_density() -> None:
    plan = WindowPlan(1000, 20000, rows_left=190)  # 1 row per 100 ids: 4,500-id windows for 45 rows
    assert plan.take(2) == [Window(1000, 5500), Window(5500, 10000)]
    plan.finished(Window(5500, 10000), rows=9)  # the second window was sparser than expected
    plan.overflowed(Window(1000, 5500), last=1100)  # the first was full after only 100 ids

    # its rest (1100, 5500] in windows of 90 ids (45 rows at 1 row per 2 ids), sent before new ground
    assert plan.done_through() == 1100
    assert plan.available() == 49 + 4  # and 10,000 new ids in 4 windows
    taken = plan.take(50)
    assert taken[:3] == [Window(1100, 1190), Window(1190, 1280), Window(1280, 1370)]
    assert taken[47:49] == [Window(5330, 5420), Window(5420, 5500)]
    # new ground at the density of both answers, the older one decayed: (9 * 0.9 + 50) / (4,500 * 0.9 + 100)
    assert taken[49] == Window(10000, 13214)
    assert plan.done_through() == 1100


def test_a_page_denser_than_one_row_per_id_is_read_as_one_row_per_id() -> None:
    plan = WindowPlan(0, 1000, rows_left=1000)
    assert plan.take(1) == [Window(0, 50)]
    plan.overflowed(Window(0, 50), last=20)  # a full page over 20 ids: only a portal repeating ids

    assert plan.take(3) == [Window(20, 50), Window(50, 100), Window(100, 150)]  # 50 ids a window, no less
