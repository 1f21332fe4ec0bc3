"""Bitrix24 emulator: ``batch`` as settings/how-to-call-rest-api/batch.md describes it — up to 50
commands, ``$result[...]`` references (list indexes too), ``halt``, per-command errors, no nesting, and
the empty ``[]`` PHP arrays in the answer."""

from __future__ import annotations

from test_bitrix24_support import B24, b24, clock, doc, portal, shape_differences

from crm_bridge_bitrix24.sandbox.emulator import Bitrix24Emulator

__all__ = ["b24", "clock", "portal"]


def test_the_documented_linked_batch_passes_a_list_value_to_the_next_command(b24: B24) -> None:
    example = doc("batch_linked.json")

    reply = b24.call("batch", example["request"])

    documented = example["response"]
    body = reply.body["result"]
    assert reply.status == 200
    assert body["result"]["get_department"] == [{"ID": "1", "NAME": "Компания", "SORT": 500, "UF_HEAD": "1"}]
    assert (body["result_error"], body["result_next"], body["result_total"]) == (
        [],
        [],
        {"get_department": 1},
    )
    assert set(documented["result"]["result"]["get_user"]) <= set(body["result"]["get_user"])
    assert shape_differences(body["result_time"], documented["result"]["result_time"]) == []
    assert shape_differences(reply.body["time"], documented["time"]) == []  # no operating for the outer call


def test_fifty_commands_run_and_fifty_one_are_refused(b24: B24) -> None:
    fifty = {f"c{n}": f"crm.lead.add?fields[TITLE]=lead {n}" for n in range(50)}

    ran = b24.call("batch", {"cmd": fifty})
    refused = b24.call("batch", {"cmd": {**fifty, "one_more": "scope"}})

    assert ran.status == 200 and len(ran.body["result"]["result"]) == 50
    assert (refused.status, refused.body) == (
        400,
        {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"},
    )
    assert b24.call("crm.lead.list", {"select": ["ID"]}).body["total"] == 50  # the refused batch added none


def test_a_missing_scope_fails_every_command_and_halt_stops_at_the_first(clock: object) -> None:
    b24 = B24(Bitrix24Emulator(clock=clock, rate_limit=False, scopes=("crm",)))  # type: ignore[arg-type]
    examples = doc("batch_errors.json")
    cmd = {"get_user": "user.current", "get_department": "department.get"}

    all_of_them = b24.call("batch", {"halt": 0, "cmd": cmd})
    halted = b24.call("batch", {"halt": 1, "cmd": cmd})

    assert shape_differences(all_of_them.body, examples["halt_0"]) == []
    assert shape_differences(halted.body, examples["halt_1"]) == []
    assert list(all_of_them.body["result"]["result_error"]) == ["get_user", "get_department"]
    assert list(halted.body["result"]["result_error"]) == ["get_user"]
    assert halted.body["result"]["result_error"]["get_user"]["error"] == "insufficient_scope"


def test_results_feed_later_commands_by_key_field_and_list_index(b24: B24) -> None:
    reply = b24.call(
        "batch",
        {
            "halt": 0,
            "cmd": {
                "co": "crm.company.add?fields[TITLE]=Acme",
                "deal": "crm.deal.add?fields[TITLE]=Acme%20deal&fields[COMPANY_ID]=$result[co]",
                "list": "crm.deal.list?filter[COMPANY_ID]=$result[co]&select[]=ID&select[]=TITLE",
                "again": "crm.deal.get?id=$result[list][0][ID]",
            },
        },
    )

    result = reply.body["result"]["result"]
    assert result["list"] == [{"ID": str(result["deal"]), "TITLE": "Acme deal"}]
    assert result["again"]["COMPANY_ID"] == str(result["co"])
    assert reply.body["result"]["result_total"] == {"list": 1}


def test_a_failing_command_is_reported_under_its_key_while_the_others_run(b24: B24) -> None:
    reply = b24.call(
        "batch",
        {
            "cmd": {
                "first": "crm.lead.add?fields[TITLE]=one",
                "broken": "crm.lead.get?id=999",
                "nested": "batch?cmd[x]=scope",
                "unknown": "crm.nothing.here",
                "last": "crm.lead.add?fields[TITLE]=two",
            }
        },
    )

    body = reply.body["result"]
    assert list(body["result"]) == ["first", "last"]
    assert body["result_error"] == {
        "broken": {"error": "", "error_description": "Not found"},
        "nested": {
            "error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
            "error_description": "Method is not allowed for batch usage",
        },
        "unknown": {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"},
    }


def test_numbered_commands_answer_lists_and_list_pages_report_next(b24: B24) -> None:
    for n in range(60):
        b24.ok("crm.contact.add", {"fields": {"NAME": f"c{n}"}})

    reply = b24.call(
        "batch", {"cmd": ["crm.contact.list?select[]=ID", "crm.contact.list?select[]=ID&start=50"]}
    )

    body = reply.body["result"]
    assert [len(page) for page in body["result"]] == [50, 10]
    assert (body["result_total"], body["result_next"]) == ([60, 60], [50])


def test_a_form_encoded_batch_with_doubly_encoded_commands_is_understood(b24: B24) -> None:
    reply = b24.call(
        "batch", {"halt": 0, "cmd": {"a": "crm.lead.add?fields%5BTITLE%5D=from%20form"}}, how="form"
    )

    lead = b24.ok("crm.lead.get", {"id": reply.body["result"]["result"]["a"]})
    assert lead["TITLE"] == "from form"
