"""How Bitrix24's values are read and written (rows.py, encoding.py) and what the connection settings
resolve to (config.py, plugin.py): dates in both of the portal's formats, amounts, flags, user-field
values, batch command encoding, the plan's limits, event modes and the limiter key."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from crm_bridge.config.crm import RateLimitConfig
from crm_bridge.domain.layout import FieldType
from crm_bridge.errors import DataError
from crm_bridge.toolkit.catalog import FieldInfo
from crm_bridge_bitrix24.config import Bitrix24Config
from crm_bridge_bitrix24.encoding import command
from crm_bridge_bitrix24.plugin import ADAPTER, limiter_key
from crm_bridge_bitrix24.rows import field_value, iso, parse_datetime, parse_money

HOOK = "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"
OAUTH = {"portal_url": "https://oauth.bitrix24.ru/", "client_id": "c", "client_secret": "s"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-09-02T18:37:18+02:00", datetime(2024, 9, 2, 16, 37, 18, tzinfo=UTC)),
        (" 2024-09-02T18:37:18 ", datetime(2024, 9, 2, 18, 37, 18, tzinfo=UTC)),
        ("02.09.2024 18:37:18", datetime(2024, 9, 2, 18, 37, 18, tzinfo=UTC)),
        ("02.09.2024", datetime(2024, 9, 2, tzinfo=UTC)),
    ],
)
def test_the_portals_date_formats_are_read_as_utc(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected and parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize("empty", [None, "", False])
def test_an_empty_date_is_none(empty: object) -> None:
    assert parse_datetime(empty) is None


def test_a_value_that_is_no_date_is_a_data_error_quoting_its_start() -> None:
    with pytest.raises(DataError) as info:
        parse_datetime("yesterday at noon, more or less, give or take an hour or two")
    assert str(info.value) == "bitrix24 date: not a date: 'yesterday at noon, more or less, give or'"
    assert info.value.where == "bitrix24 date"


def test_dates_are_sent_as_iso_8601_in_utc_to_the_second() -> None:
    moscow = timezone(timedelta(hours=3))
    assert iso(datetime(2024, 9, 2, 18, 37, 18, 999, tzinfo=moscow)) == "2024-09-02T15:37:18+00:00"
    assert iso(date(2024, 9, 2)) == "2024-09-02T00:00:00+00:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, Decimal("0")), ("", Decimal("0")), (" 19999.99 ", Decimal("19999.99")), (5, Decimal("5"))],
)
def test_amounts_are_exact_and_an_empty_one_is_zero(value: object, expected: Decimal) -> None:
    assert parse_money(value) == expected


@pytest.mark.parametrize("value", ["12,50 RUB", "NaN", "Infinity"])
def test_an_amount_that_is_not_a_number_is_refused_naming_the_record(value: str) -> None:
    with pytest.raises(DataError) as info:
        parse_money(value, "deal 7")
    assert str(info.value) == f"deal 7: amount {value!r} is not a number"
    with pytest.raises(DataError) as default:
        parse_money(value)
    assert str(default.value) == f"bitrix24 amount: amount {value!r} is not a number"


ENUM = FieldInfo("UF_CRM_TIER", FieldType.ENUM, {"gold": 47, "silver": 46})
YES_NO = FieldInfo("UF_CRM_TRAINED", FieldType.ENUM, {"yes": 51, "no": 52})


@pytest.mark.parametrize(
    ("info", "value", "expected"),
    [
        (ENUM, None, ""),
        (ENUM, "gold", 47),
        (YES_NO, True, 51),
        (YES_NO, False, 52),
        (YES_NO, "no", 52),
        (FieldInfo("UF_CRM_CURATOR", FieldType.USER), "anna", "17"),
        (FieldInfo("UF_CRM_CURATOR", FieldType.USER), 99, "99"),
        (FieldInfo("UF_CRM_SINCE", FieldType.DATE), date(2024, 1, 2), "2024-01-02T00:00:00+00:00"),
        (
            FieldInfo("UF_CRM_SINCE", FieldType.DATE),
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            "2024-01-02T03:04:05+00:00",
        ),
        (FieldInfo("UF_CRM_FLAG", FieldType.STRING), True, "1"),
        (FieldInfo("UF_CRM_FLAG", FieldType.STRING), False, "0"),
        (FieldInfo("UF_CRM_SUM", FieldType.NUMBER), Decimal("1E+3"), "1000"),
        (FieldInfo("UF_CRM_SUM", FieldType.NUMBER), 12, 12),
        (FieldInfo("UF_CRM_REGION", FieldType.STRING), "North", "North"),
    ],
)
def test_domain_values_become_what_the_user_field_stores(
    info: FieldInfo, value: object, expected: object
) -> None:
    assert field_value(info, value, {"anna": "17"}) == expected


def test_an_option_the_field_lacks_is_refused_with_the_fix() -> None:
    with pytest.raises(DataError) as info:
        field_value(ENUM, "platinum", {})
    assert str(info.value) == "option 'platinum' does not exist in UF_CRM_TIER; run crm-bridge provision"
    with pytest.raises(DataError):
        field_value(ENUM, True, {})  # a yes/no value for a field without yes and no


def test_a_batch_command_encodes_flags_dates_decimals_and_drops_nulls() -> None:
    params = {
        "fields": {
            "OPENED": True,
            "CLOSED": False,
            "BEGINDATE": date(2024, 1, 2),
            "OPPORTUNITY": Decimal("1E+3"),
        },
        "skip": None,
        "ids": (3, 4),
    }
    assert command("crm.deal.add", params) == (
        "crm.deal.add?fields%5BOPENED%5D=1&fields%5BCLOSED%5D=0&fields%5BBEGINDATE%5D=2024-01-02"
        "&fields%5BOPPORTUNITY%5D=1000&ids%5B0%5D=3&ids%5B1%5D=4"
    )
    assert command("scope", {}) == "scope" and command("scope") == "scope"
    assert (
        command("m", {"when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)})
        == "m?when=2024-01-02T03%3A04%3A05%2B00%3A00"
    )


def test_the_plan_sets_the_rate_limit_unless_overridden() -> None:
    assert Bitrix24Config(webhook_url=HOOK).effective_rate_limit() == RateLimitConfig(burst=50, per_second=2)
    enterprise = Bitrix24Config(webhook_url=HOOK, plan="enterprise")
    assert enterprise.effective_rate_limit() == RateLimitConfig(burst=250, per_second=5)
    own = RateLimitConfig(burst=9, per_second=3)
    assert Bitrix24Config(webhook_url=HOOK, plan="enterprise", rate_limit=own).effective_rate_limit() == own


def test_event_modes_follow_the_install() -> None:
    assert Bitrix24Config(webhook_url=HOOK).event_mode() == "polling"
    assert Bitrix24Config(webhook_url=HOOK, application_token="t").event_mode() == "outgoing_webhook"
    assert Bitrix24Config(oauth=OAUTH).event_mode() == "offline"
    assert Bitrix24Config(oauth=OAUTH, events="polling").event_mode() == "polling"
    assert Bitrix24Config(oauth=OAUTH, application_token="t", events="outgoing_webhook").event_mode() == (
        "outgoing_webhook"
    )


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({}, "set exactly one of webhook_url or oauth"),
        ({"webhook_url": HOOK, "oauth": OAUTH}, "set exactly one of webhook_url or oauth"),
        (
            {"webhook_url": HOOK, "events": "offline"},
            "events: offline events need an oauth (local application) install",
        ),
        ({"oauth": OAUTH, "events": "outgoing_webhook"}, "events: outgoing_webhook needs application_token"),
    ],
)
def test_a_connection_that_cannot_work_is_refused_saying_why(
    settings: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Bitrix24Config(**settings)  # type: ignore[arg-type]
    assert problem in str(info.value)


def test_the_portal_host_is_what_its_events_carry() -> None:
    assert Bitrix24Config(webhook_url=HOOK).portal_host() == "example.bitrix24.ru"
    assert Bitrix24Config(oauth=OAUTH).portal_host() == "oauth.bitrix24.ru"


def test_processes_of_one_portal_share_a_limiter_key_without_the_secret() -> None:
    assert limiter_key(Bitrix24Config(webhook_url=HOOK)) == "bitrix24:example.bitrix24.ru"
    assert limiter_key(Bitrix24Config(oauth=OAUTH)) == "bitrix24:oauth.bitrix24.ru"
    local = Bitrix24Config(webhook_url="http://127.0.0.1:8123/rest/1/abcdef/")
    assert limiter_key(local) == "bitrix24:127.0.0.1:8123"


def test_the_webhook_secret_is_redacted_from_what_is_logged() -> None:
    [(pattern, replacement)] = ADAPTER.redaction_rules
    line = "POST https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/crm.deal.list failed"
    assert (
        pattern.sub(replacement, line) == "POST https://example.bitrix24.ru/rest/1/***/crm.deal.list failed"
    )
    assert (
        pattern.sub(replacement, "https://p.bitrix24.ru/rest/12/abc/") == "https://p.bitrix24.ru/rest/12/abc/"
    )


def test_the_demo_section_points_at_the_sandbox_through_an_environment_variable() -> None:
    assert ADAPTER.demo is not None
    snippet = {"env": {"B24_WEBHOOK_URL": "http://127.0.0.1:9/rest/1/k3y/"}}
    section, env = ADAPTER.demo.crm_section(snippet, False)
    assert section == {
        "webhook_url": "${B24_WEBHOOK_URL}",
        "plan": "standard",
        "rate_limit": {"burst": 10_000, "per_second": 10_000},
    }
    assert env == {"B24_WEBHOOK_URL": "http://127.0.0.1:9/rest/1/k3y/"}
    limited, _ = ADAPTER.demo.crm_section(snippet, True)
    assert limited == {"webhook_url": "${B24_WEBHOOK_URL}", "plan": "standard"}
    assert ADAPTER.instance_url(Bitrix24Config(oauth=OAUTH)) == "https://oauth.bitrix24.ru/"
    assert ADAPTER.default_mapping().startswith(("version", "#"))
