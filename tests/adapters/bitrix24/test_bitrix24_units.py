"""Pure pieces of the Bitrix24 adapter: batch command encoding, stage reuse, the mapping file, the error
table and the operating-time budget."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from crm_bridge.domain.layout import DesiredStage, FieldEntity
from crm_bridge.domain.model import StageKind
from crm_bridge.errors import (
    AuthError,
    ConfigError,
    CrmFatalError,
    CrmValidationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from crm_bridge_bitrix24.budget import OperatingBudget
from crm_bridge_bitrix24.encoding import command
from crm_bridge_bitrix24.failures import to_error
from crm_bridge_bitrix24.layout.stages import reuse_plan, stage_code
from crm_bridge_bitrix24.mapping import load_mapping
from crm_bridge_bitrix24.wire import Status


def test_a_batch_command_encodes_nested_filters_and_lists_the_php_way() -> None:
    cmd = command(
        "crm.deal.list",
        {"filter": {">ID": 5, "@CATEGORY_ID": [3, 4]}, "select": ["ID", "UF_*"], "start": -1, "flag": True},
    )
    method, _, query = cmd.partition("?")
    assert method == "crm.deal.list"
    assert parse_qsl(query) == [
        ("filter[>ID]", "5"),
        ("filter[@CATEGORY_ID][0]", "3"),
        ("filter[@CATEGORY_ID][1]", "4"),
        ("select[0]", "ID"),
        ("select[1]", "UF_*"),
        ("start", "-1"),
        ("flag", "1"),
    ]


def test_a_batch_command_keeps_text_with_reserved_characters_intact() -> None:
    cmd = command("crm.deal.add", {"fields": {"TITLE": "Acme & Co = 100% #1", "COMMENTS": "a\nb", "X": None}})
    assert dict(parse_qsl(cmd.partition("?")[2])) == {
        "fields[TITLE]": "Acme & Co = 100% #1",
        "fields[COMMENTS]": "a\nb",
    }


def _status(row_id: int, code: str, sort: int, semantics: str | None = None, system: bool = False) -> Status:
    return Status.model_validate(
        {
            "ID": str(row_id),
            "ENTITY_ID": "DEAL_STAGE_7",
            "STATUS_ID": code,
            "NAME": code,
            "SORT": str(sort),
            "SYSTEM": "Y" if system else "N",
            "SEMANTICS": semantics,
        }
    )


AUTO = [
    _status(1, "C7:NEW", 10, system=True),
    _status(2, "C7:PREPARATION", 20),
    _status(3, "C7:PREPAYMENT_INVOICE", 30),
    _status(4, "C7:EXECUTING", 40),
    _status(5, "C7:FINAL_INVOICE", 50),
    _status(6, "C7:WON", 60, "S", system=True),
    _status(7, "C7:LOSE", 70, "F", system=True),
    _status(8, "C7:APOLOGY", 80, "F"),
]


def _stages(*keys: str) -> list[DesiredStage]:
    out = [DesiredStage(k, k.title(), StageKind.OPEN, sort=10 * (i + 1)) for i, k in enumerate(keys)]
    out.append(DesiredStage("won", "Won", StageKind.WON, sort=900))
    out.append(DesiredStage("lost", "Lost", StageKind.LOST, sort=910))
    return out


def test_a_new_funnel_reuses_the_stages_bitrix24_made_and_deletes_the_leftovers() -> None:
    ops = reuse_plan(
        7,
        AUTO,
        {},
        _stages("registered", "qualification", "offer", "closed"),
        created_by_us=True,
        max_code_length=22,
    )
    assert ops.codes == {
        "registered": "C7:NEW",
        "qualification": "C7:PREPARATION",
        "offer": "C7:PREPAYMENT_INVOICE",
        "closed": "C7:EXECUTING",
        "won": "C7:WON",
        "lost": "C7:LOSE",
    }
    assert ops.adds == []
    assert sorted(ops.deletes) == [5, 8]  # the leftovers: FINAL_INVOICE and APOLOGY
    # the terminal stages move first so the open ones can take lower SORT values
    assert [row for row, _f, _c in ops.updates][:2] == [7, 6]


def test_stages_beyond_the_automatic_ones_are_added_before_the_won_stage_with_short_codes() -> None:
    keys = (
        "identification",
        "first_contact",
        "negotiation",
        "agreement",
        "onboarding",
        "support_and_training_x",
    )
    ops = reuse_plan(1234, AUTO, {}, _stages(*keys), created_by_us=True, max_code_length=22)
    assert len(ops.adds) == 1
    fields, code = ops.adds[0]
    assert fields["ENTITY_ID"] == "DEAL_STAGE_1234" and fields["SEMANTICS"] == ""
    assert code == "C1234:" + fields["STATUS_ID"] and len(code) <= 22
    assert fields["SORT"] == 60 and ops.deletes == [8]


def test_a_funnel_we_did_not_create_keeps_its_unknown_stages() -> None:
    ops = reuse_plan(
        7, AUTO, {"a": "C7:NEW"}, [DesiredStage("b", "B", sort=20)], created_by_us=False, max_code_length=22
    )
    assert ops.codes == {"b": "C7:PREPARATION"} and ops.deletes == []


def test_derived_stage_codes_stay_unique() -> None:
    taken = {"C7:QUALIFICATION"}
    assert stage_code(7, "qualification", 22, taken) == "QUALIFICATION_2"


def test_the_packaged_mapping_names_every_partner_field() -> None:
    mapping = load_mapping()
    assert mapping.code(FieldEntity.PARTNER, "tier") == "UF_CRM_PARTNER_TIER"
    assert mapping.code(FieldEntity.LEAD, "partner_ref") == mapping.code(FieldEntity.DEAL, "partner_ref")
    assert mapping.code(FieldEntity.PARTNER, "custom_thing") == "UF_CRM_CUSTOM_THING"
    assert mapping.userfield_entity(FieldEntity.LEAD) == "deal"


def test_a_mapping_override_with_a_field_code_bitrix24_would_refuse_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "partner-fields.yaml"
    bad.write_text("fields:\n  partner:\n    tier: UF_CRM_" + "X" * 44 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_mapping(bad)
    assert f"crm.bitrix24.mapping ({bad}): fields: partner.tier: " in str(info.value)
    assert "50" in str(info.value)


def test_a_mapping_override_changes_only_the_keys_it_names(tmp_path: Path) -> None:
    override = tmp_path / "ours.yaml"
    override.write_text("fields:\n  partner:\n    tier: UF_CRM_PARTNER_LEVEL\n", encoding="utf-8")
    mapping = load_mapping(override)
    assert mapping.code(FieldEntity.PARTNER, "tier") == "UF_CRM_PARTNER_LEVEL"
    assert mapping.code(FieldEntity.PARTNER, "partner_type") == load_mapping().code(
        FieldEntity.PARTNER, "partner_type"
    )
    assert mapping.userfield_entity(FieldEntity.LEAD) == "deal"


def test_a_mapping_override_with_an_unknown_key_is_refused_with_its_path(tmp_path: Path) -> None:
    override = tmp_path / "ours.yaml"
    override.write_text("recordz:\n  title: TITLE\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_mapping(override)
    assert f"crm.bitrix24.mapping ({override}): recordz: " in str(info.value)


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("NO_AUTH_FOUND", 401, AuthError),
        ("expired_token", 401, AuthError),
        ("invalid_grant", 400, AuthError),
        ("insufficient_scope", 403, PermissionDenied),
        ("INVALID_CREDENTIALS", 403, PermissionDenied),
        ("ACCESS_DENIED", 403, PermissionDenied),
        ("user_access_error", 403, PermissionDenied),
        ("QUERY_LIMIT_EXCEEDED", 503, RateLimited),
        ("OPERATION_TIME_LIMIT", 429, RateLimited),
        ("OVERLOAD_LIMIT", 503, CrmFatalError),
        ("INTERNAL_SERVER_ERROR", 500, TransientError),
        ("ERROR_UNEXPECTED_ANSWER", 500, TransientError),
        ("PORTAL_DELETED", 500, NotFound),
        ("ERROR_BATCH_LENGTH_EXCEEDED", 400, CrmValidationError),
        ("ERROR_BATCH_METHOD_NOT_ALLOWED", 405, CrmValidationError),
        ("ERROR_CORE", 400, CrmValidationError),
        ("", 400, CrmValidationError),
        ("SOMETHING_NEW", 502, TransientError),
    ],
)
def test_every_documented_error_code_maps_to_what_the_caller_should_do(
    code: str, status: int, kind: type
) -> None:
    error = to_error(code, "text", status=status, config_key="crm.bitrix24.webhook_url")
    assert type(error) is kind
    assert error.crm == "bitrix24" and error.code == code


def test_an_empty_error_code_with_access_denied_text_is_a_permission_problem() -> None:
    assert isinstance(to_error("", "Access denied.", status=400), PermissionDenied)


def test_an_auth_error_names_the_config_key_to_fix() -> None:
    error = to_error(
        "NO_AUTH_FOUND", "Wrong authorization data", status=401, config_key="crm.bitrix24.webhook_url"
    )
    assert error.config_key == "crm.bitrix24.webhook_url" and "crm.bitrix24.webhook_url" in str(error)


def test_the_operating_budget_waits_until_the_oldest_minute_drops_out() -> None:
    budget = OperatingBudget(limit=100, window=600, headroom=1.0)
    budget.record("crm.deal.list", 60, now=1000)
    budget.record("crm.deal.list", 50, now=1100)
    assert budget.wait_for({"crm.deal.list"}, now=1200) == pytest.approx(400)  # 1000 + 600 - 1200
    assert budget.wait_for({"crm.deal.add"}, now=1200) == 0
    assert budget.wait_for({"crm.deal.list"}, now=1601) == 0


def test_the_operating_budget_honours_the_servers_reset_time() -> None:
    budget = OperatingBudget(limit=480, window=600, headroom=0.9)
    budget.record_server("crm.deal.list", operating=470, reset_at=2000)
    assert budget.wait_for({"crm.deal.list"}, now=1900) == pytest.approx(100)
