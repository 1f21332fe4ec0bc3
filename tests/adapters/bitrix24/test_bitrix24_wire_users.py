"""Wire test of the Bitrix24 user listing (adapter.list_users): the exact ``user.get`` request of the
first page and of the later pages sent in one batch."""

from __future__ import annotations

import responses
from b24_wire_support import HOOK, TIME, _adapter, _batch, _sent
from test_bitrix24_wire_tasks import _commands


@responses.activate
def test_every_employee_is_asked_for_in_id_order_from_the_first_row_then_page_by_page() -> None:
    first = [{"ID": str(i), "NAME": f"U{i}"} for i in range(1, 51)]
    responses.post(HOOK + "user.get", json={"result": first, "total": 120, "next": 50, "time": TIME})
    responses.post(
        HOOK + "batch",
        json=_batch({"c0": [{"ID": str(i)} for i in range(51, 101)], "c1": [{"ID": "101"}]}),
    )

    users = _adapter().list_users()

    assert [u.crm_id for u in users] == [str(i) for i in range(1, 102)]
    assert _sent(responses.calls[0]) == {
        "FILTER": {"USER_TYPE": "employee"},
        "sort": "ID",
        "order": "ASC",
        "start": 0,
    }
    assert _commands(responses.calls[1]) == [
        ("user.get", {"FILTER[USER_TYPE]": "employee", "sort": "ID", "order": "ASC", "start": "50"}),
        ("user.get", {"FILTER[USER_TYPE]": "employee", "sort": "ID", "order": "ASC", "start": "100"}),
    ]
