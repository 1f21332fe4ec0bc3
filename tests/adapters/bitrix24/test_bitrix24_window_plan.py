"""The windows of a sliced keyset walk (keyset.py) at their edges: a counted total denser than one row
per id, a density of exactly 0.999, the windows still to send once the new ground
is spent, a batch taking no more continuations than asked, and the density learnt from answers that
held half a page, one row, no row, or came from a window of one id."""

from __future__ import annotations

from crm_bridge_bitrix24.keyset import Window, WindowPlan


def test_a_total_above_one_row_per_id_still_cuts_windows_of_a_full_page() -> None:
    plan = WindowPlan(0, 1000, rows_left=2000)  # a count no unique ids can give: read as one row per id

    assert plan.take(2) == [Window(0, 50), Window(50, 100)]


def test_a_density_of_exactly_0_999_counts_as_dense() -> None:
    plan = WindowPlan(0, 1000, rows_left=999)

    assert plan.take(1) == [Window(0, 50)]  # a full page (50 / 0.999), not 90 % of one


def test_windows_left_count_the_last_single_id_and_nothing_once_the_ground_is_spent() -> None:
    plan = WindowPlan(0, 51, rows_left=51)
    assert plan.take(1) == [Window(0, 50)]
    assert plan.available() == 1  # the id 51 alone

    assert plan.take(5) == [Window(50, 51)]
    assert plan.available() == 0


def test_a_batch_takes_no_more_continuations_than_asked() -> None:
    plan = WindowPlan(0, 10_000, rows_left=100)  # 1 row per 100 ids: windows of 4,500
    assert plan.take(1) == [Window(0, 4500)]
    plan.overflowed(Window(0, 4500), last=100)  # the rest (100, 4500] in windows of 90 ids

    assert plan.take(1) == [Window(100, 190)]
    assert plan.take(2) == [Window(190, 280), Window(280, 370)]


def test_the_first_answer_sets_the_density_of_the_next_windows() -> None:
    plan = WindowPlan(0, 1000, rows_left=1000)
    assert plan.take(1) == [Window(0, 50)]
    plan.finished(Window(0, 50), rows=25)  # half a page: 1 row per 2 ids, windows of 90 ids

    assert plan.take(2) == [Window(50, 140), Window(140, 230)]


def test_an_answer_of_one_row_widens_the_next_windows() -> None:
    plan = WindowPlan(0, 100_000, rows_left=1000)  # 1 row per 100 ids: windows of 4,500
    assert plan.take(1) == [Window(0, 4500)]
    plan.finished(Window(0, 4500), rows=1)

    assert plan.take(1) == [Window(4500, 100_000)]  # 1 row per 4,500 ids: the rest fits one window


def test_an_empty_answer_keeps_the_density_it_had() -> None:
    plan = WindowPlan(0, 100_000, rows_left=1000)
    assert plan.take(1) == [Window(0, 4500)]
    plan.finished(Window(0, 4500), rows=0)  # nothing learnt: the next window is as wide, not the rest

    assert plan.take(1) == [Window(4500, 9000)]


def test_a_window_of_one_id_counts_as_one_id_in_the_density() -> None:
    plan = WindowPlan(0, 10_000, rows_left=200)  # 1 row per 50 ids: windows of 2,250
    assert plan.take(1) == [Window(0, 2250)]
    plan.overflowed(Window(0, 2250), last=2249)  # its rest is the single id 2250
    assert plan.take(1) == [Window(2249, 2250)]
    plan.finished(Window(2249, 2250), rows=1)

    # (50 * 0.9 + 1) rows over (2,249 * 0.9 + 1) ids: 45 rows in 1,981 ids
    assert plan.take(1) == [Window(2250, 4231)]


def test_leftover_continuations_go_when_they_fill_a_batch_or_nothing_is_in_flight() -> None:
    plan = WindowPlan(0, 4500, rows_left=45)  # 1 row per 100 ids: the whole ground is one window
    assert plan.take(1) == [Window(0, 4500)]
    plan.overflowed(Window(0, 4500), last=100)  # the rest (100, 4500] in 49 windows of 90 ids
    assert plan.available() == 49

    assert plan.worth_sending(49, busy=True)  # they fill the batch
    assert not plan.worth_sending(50, busy=True)  # they wait for the answers still to come
    assert plan.worth_sending(50, busy=False)  # nothing else will come
