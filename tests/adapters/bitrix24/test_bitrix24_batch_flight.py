"""How many ``batch`` requests the Bitrix24 client keeps in flight (client.py ``run_batches``): one at a
time with ``max_concurrency: 1``, taking the next chunk only after the answer is handed on; up to the
limit otherwise, never more; every chunk answered, in order."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import responses
from b24_wire_support import HOOK, _adapter, _batch, _sent
from requests import PreparedRequest

from crm_bridge_bitrix24.client import Command


def _chunks(pulled: list[int], count: int) -> Iterator[Sequence[Command]]:
    for i in range(1, count + 1):
        pulled.append(i)
        yield [Command("crm.deal.get", {"id": i})]


def _answer_each_batch() -> None:
    def reply(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        cmd = json.loads(request.body or "{}")["cmd"]
        deal_id = cmd["c0"].rpartition("=")[2]
        return 200, {}, json.dumps(_batch({"c0": {"ID": deal_id}}))

    responses.add_callback(responses.POST, HOOK + "batch", callback=reply)


@responses.activate
def test_one_at_a_time_takes_the_next_chunk_only_after_handing_on_the_answer() -> None:
    _answer_each_batch()
    client = _adapter(max_concurrency=1).client
    pulled: list[int] = []

    answers = client.run_batches(_chunks(pulled, 3))
    first = next(answers)

    assert pulled == [1]  # the second chunk is not even built yet
    assert [o.result for o in first.outcomes] == [{"ID": "1"}]
    assert [o.result for a in answers for o in a.outcomes] == [{"ID": "2"}, {"ID": "3"}]
    assert [_sent(c)["cmd"]["c0"] for c in responses.calls] == [
        "crm.deal.get?id=1",
        "crm.deal.get?id=2",
        "crm.deal.get?id=3",
    ]


@responses.activate
def test_two_in_flight_take_two_chunks_before_the_first_answer_and_no_more() -> None:
    _answer_each_batch()
    client = _adapter(max_concurrency=2).client
    pulled: list[int] = []

    answers = client.run_batches(_chunks(pulled, 4))
    first = next(answers)

    assert pulled == [1, 2]
    assert [o.result for o in first.outcomes] == [{"ID": "1"}]
    second = next(answers)
    assert pulled == [1, 2, 3]
    assert [o.result for o in second.outcomes] == [{"ID": "2"}]
    assert [o.result for a in answers for o in a.outcomes] == [{"ID": "3"}, {"ID": "4"}]


@responses.activate
def test_max_in_flight_of_one_overrides_a_higher_concurrency() -> None:
    _answer_each_batch()
    client = _adapter(max_concurrency=4).client
    pulled: list[int] = []

    answers = client.run_batches(_chunks(pulled, 2), max_in_flight=1)
    next(answers)

    assert pulled == [1]
    assert [o.result for a in answers for o in a.outcomes] == [{"ID": "2"}]
