"""Checks across config sections, as `crm-bridge validate` reports them: a key that names a manager,
tier, channel or funnel stage defined elsewhere must exist; tier thresholds climb with the tier.

Each case pins the full list of problem lines for one config (the same function, in-process, that
`crm-bridge validate` and the daemon use), and a valid config next to it is accepted."""

from __future__ import annotations

import textwrap
from typing import Any, get_args

import pytest
import yaml

from crm_bridge.config.ops import EventName
from crm_bridge.config.settings import Settings, parse_settings
from crm_bridge.errors import ConfigError

WEBHOOK = "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"
ENV = {"B24_WEBHOOK_URL": WEBHOOK}
CRM = 'crm: {kind: bitrix24, bitrix24: {webhook_url: "${B24_WEBHOOK_URL}"}}\n'
TIERS = "bronze, silver, gold, platinum"  # the default ladder, lowest first
STAGES = "agreement_signed, first_contact, identification, negotiation, not_a_fit, onboarding, partner_active"
MANAGERS = """
managers:
  - {key: anna, name: Анна, crm_user_id: "1"}
  - {key: boris, name: Борис, crm_user_id: "2"}
"""


def _data(text: str) -> Any:
    return yaml.safe_load(CRM + textwrap.dedent(text))


def problems(text: str) -> list[str]:
    """The problem lines `crm-bridge validate` prints for a config (the CRM section added)."""
    with pytest.raises(ConfigError) as caught:
        parse_settings(_data(text), ENV)
    return caught.value.problems


def accepted(text: str) -> Settings:
    return parse_settings(_data(text), ENV)


# --- partner lifecycle: tiers and acquisition stages named by selection, onboarding, access ---------

LIFECYCLE_MISTAKES = [
    pytest.param(
        "access: {tiers: {silver: {regions: [north]}, diamond: {regions: [south]}}}",
        [f"access.tiers.diamond: unknown tier 'diamond' (tiers: {TIERS})"],
        id="access-for-an-unknown-tier",
    ),
    pytest.param(
        "onboarding: {first_tier: diamond}",
        [f"onboarding.first_tier: unknown tier 'diamond' (tiers: {TIERS})"],
        id="first-tier-unknown",
    ),
    pytest.param(
        """
        tiers: {levels: [{key: basic, name: Basic}, {key: pro, name: Pro}]}
        access: {tiers: {pro: {}, gold: {}, silver: {}}}
        onboarding: {first_tier: gold}
        """,
        [
            "access.tiers.gold: unknown tier 'gold' (tiers: basic, pro)",
            "access.tiers.silver: unknown tier 'silver' (tiers: basic, pro)",
            "onboarding.first_tier: unknown tier 'gold' (tiers: basic, pro)",
        ],
        id="tiers-of-a-custom-ladder",
    ),
    pytest.param(
        """
        selection:
          score_stages: [identification, scouting, first_contact, vetting]
          passed_stage: agreed
          failed_stage: dropped
        """,
        [
            f"selection.score_stages[1]: no stage 'scouting' in the acquisition funnel (stages: {STAGES})",
            f"selection.score_stages[3]: no stage 'vetting' in the acquisition funnel (stages: {STAGES})",
            f"selection.passed_stage: no stage 'agreed' in the acquisition funnel (stages: {STAGES})",
            f"selection.failed_stage: no stage 'dropped' in the acquisition funnel (stages: {STAGES})",
        ],
        id="selection-stages-unknown",
    ),
    pytest.param(
        "onboarding: {trigger_stages: [agreement_signed, signed], onboarding_stage: welcome}",
        [
            f"onboarding.trigger_stages[1]: no stage 'signed' in the acquisition funnel (stages: {STAGES})",
            f"onboarding.onboarding_stage: no stage 'welcome' in the acquisition funnel (stages: {STAGES})",
        ],
        id="onboarding-stages-unknown",
    ),
    pytest.param(
        "onboarding: {trigger_stages: [signed]}\nselection: {passed_stage: agreed}",
        [
            f"onboarding.trigger_stages[0]: no stage 'signed' in the acquisition funnel (stages: {STAGES})",
            f"selection.passed_stage: no stage 'agreed' in the acquisition funnel (stages: {STAGES})",
        ],
        id="listed-in-file-order",
    ),
    pytest.param(
        """
        funnels:
          acquisition:
            define: [{key: lead, name: Lead}, {key: talks, name: Talks}]
        """,
        [
            "selection.score_stages[0]: no stage 'identification' in the acquisition funnel "
            "(stages: lead, not_a_fit, partner_active, talks)",
            "selection.score_stages[1]: no stage 'first_contact' in the acquisition funnel "
            "(stages: lead, not_a_fit, partner_active, talks)",
            "selection.passed_stage: no stage 'negotiation' in the acquisition funnel "
            "(stages: lead, not_a_fit, partner_active, talks)",
            "onboarding.trigger_stages[0]: no stage 'agreement_signed' in the acquisition funnel "
            "(stages: lead, not_a_fit, partner_active, talks)",
            "onboarding.onboarding_stage: no stage 'onboarding' in the acquisition funnel "
            "(stages: lead, not_a_fit, partner_active, talks)",
        ],
        id="the-defaults-name-stages-a-redefined-funnel-dropped",
    ),
    pytest.param(
        """
        funnels:
          acquisition:
            order: [first_contact]
        access: {tiers: {diamond: {}}}
        selection: {passed_stage: agreed}
        """,
        [
            "funnels.acquisition: order must list every stage once (missing ['agreement_signed', "
            "'identification', 'negotiation', 'onboarding'], unknown [])",
            f"access.tiers.diamond: unknown tier 'diamond' (tiers: {TIERS})",
        ],
        id="a-broken-funnel-is-reported-alone-and-tiers-still-checked",
    ),
]


@pytest.mark.parametrize(("text", "expected"), LIFECYCLE_MISTAKES)
def test_a_lifecycle_section_naming_an_unknown_tier_or_stage_is_reported(
    text: str, expected: list[str]
) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("access: {tiers: {silver: {regions: [north]}, platinum: {}}}", id="access-known-tiers"),
        pytest.param("onboarding: {first_tier: gold}", id="first-tier-known"),
        pytest.param(
            "onboarding: {trigger_stages: [agreement_signed, negotiation], onboarding_stage: null}",
            id="no-onboarding-stage",
        ),
        pytest.param(
            """
            funnels:
              acquisition:
                add: [{key: scouting, name: Scouting, after: identification}]
            selection: {score_stages: [identification, scouting], passed_stage: scouting}
            """,
            id="a-stage-added-to-the-funnel",
        ),
        pytest.param(
            """
            funnels:
              acquisition:
                define: [{key: lead, name: Lead}, {key: talks, name: Talks}, {key: signed, name: Signed}]
            selection: {score_stages: [lead], passed_stage: talks, failed_stage: not_a_fit}
            onboarding: {trigger_stages: [signed], onboarding_stage: partner_active}
            """,
            id="a-redefined-funnel",
        ),
    ],
)
def test_lifecycle_sections_naming_existing_tiers_and_stages_are_accepted(text: str) -> None:
    accepted(text)


# --- managers, curators and lead distribution -------------------------------------------------------

PEOPLE_MISTAKES = [
    pytest.param(
        """
        distribution:
          rules:
            - {manager: anna}
            - {managers: [boris, carl, anna, dora]}
            - {manager: erik}
        """,
        [
            "distribution.rules[1].managers[1]: unknown manager 'carl' (known: anna, boris)",
            "distribution.rules[1].managers[3]: unknown manager 'dora' (known: anna, boris)",
            "distribution.rules[2].manager: unknown manager 'erik' (known: anna, boris)",
        ],
        id="rules-naming-unknown-managers",
    ),
    pytest.param(
        """
        distribution:
          escalation: {to: head}
        """,
        ["distribution.escalation.to: is 'head' but no head: section is configured"],
        id="escalation-to-a-missing-head",
    ),
]


@pytest.mark.parametrize(("text", "expected"), PEOPLE_MISTAKES)
def test_people_and_distribution_mistakes_are_reported(text: str, expected: list[str]) -> None:
    assert problems(MANAGERS + textwrap.dedent(text)) == expected


OWN_PEOPLE_MISTAKES = [
    pytest.param(
        """
        managers:
          - {name: Без ключа, crm_user_id: "1"}
          - {key: anna, name: Анна, crm_user_id: "2"}
          - {key: anna, name: Анна Б., crm_user_id: "3"}
        """,
        [
            "managers[0].key: required key is missing",
            "managers[2].key: duplicate manager key 'anna' (also managers[1])",
        ],
        id="duplicates-after-an-item-without-a-key",
    ),
    pytest.param(
        """
        managers:
          - {key: anna, name: Анна, crm_user_id: "1"}
          - {key: boris, name: Борис, crm_user_id: "2"}
          - {key: anna, name: Анна Б., crm_user_id: "3"}
        curators:
          - {key: vera, name: Вера, crm_user_id: "7"}
          - {key: vera, name: Вера К., crm_user_id: "8"}
          - {key: ivan, name: Иван, crm_user_id: "9"}
          - {key: ivan, name: Иван П., crm_user_id: "10"}
        """,
        [
            "managers[2].key: duplicate manager key 'anna' (also managers[0])",
            "curators[1].key: duplicate curator key 'vera' (also curators[0])",
            "curators[3].key: duplicate curator key 'ivan' (also curators[2])",
        ],
        id="duplicate-keys",
    ),
    pytest.param(
        """
        distribution:
          rules:
            - {managers: [anna]}
        """,
        ["distribution.rules[0].managers[0]: unknown manager 'anna' (known: none defined)"],
        id="no-managers-defined",
    ),
]


@pytest.mark.parametrize(("text", "expected"), OWN_PEOPLE_MISTAKES)
def test_duplicate_people_and_rules_without_managers_are_reported(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "distribution: {rules: [{manager: boris}, {managers: [anna, boris]}]}", id="rules-naming-managers"
        ),
        pytest.param(
            "head: {name: Глеб, crm_user_id: '5'}\ndistribution: {escalation: {to: head}}",
            id="escalation-to-head",
        ),
        pytest.param("distribution: {escalation: {to: curator}}", id="escalation-to-curator"),
        pytest.param(
            "curators: [{key: vera, name: Вера, crm_user_id: '7'}, "
            "{key: ivan, name: Иван, crm_user_id: '8'}]",
            id="curators",
        ),
    ],
)
def test_distribution_naming_configured_people_is_accepted(text: str) -> None:
    accepted(MANAGERS + textwrap.dedent(text))


# --- tiers: thresholds, commission rates, MDF budgets and plans by tier -----------------------------

KNOWN = "bronze, gold, platinum, silver"  # as listed after "known:", sorted

TIER_MISTAKES = [
    pytest.param(
        """
        tiers:
          levels:
            - {key: bronze, name: Bronze, min_won_deals: 2, min_revenue: 1000}
            - {key: silver, name: Silver, min_won_deals: 1, min_revenue: 1000}
            - {key: gold, name: Gold, min_won_deals: 5, min_revenue: 999.5}
            - {key: silver, name: Silver again}
        """,
        [
            "tiers.levels[1].min_won_deals: must be >= 2 (the value of the lower tier 'bronze')",
            "tiers.levels[2].min_revenue: must be >= 1000 (the value of the lower tier 'silver')",
            "tiers.levels[3].key: duplicate tier key 'silver' (also tiers.levels[1])",
        ],
        id="thresholds-falling-and-a-duplicate-tier",
    ),
    pytest.param(
        """
        rewards:
          rule_sets:
            - effective_from: 2026-01-01
              commission: {by_tier: {bronze: 5, silver: 7, gold: 9, platinum: 11}}
            - effective_from: 2026-07-01
              commission: {by_tier: {bronze: 5, diamond: 12, silver: 8}}
        """,
        [
            "rewards.rule_sets[1].commission.by_tier: no commission rate for tier 'gold'",
            "rewards.rule_sets[1].commission.by_tier: no commission rate for tier 'platinum'",
            f"rewards.rule_sets[1].commission.by_tier.diamond: unknown tier 'diamond' (known: {KNOWN})",
        ],
        id="commission-rates-by-tier",
    ),
    pytest.param(
        """
        rewards:
          mdf: {budget_by_tier: {gold: 50000, diamond: 90000}}
        goals:
          by_tier: {targets: {silver: {won_deals: 2}, ruby: {won_deals: 3}}}
        """,
        [
            f"rewards.mdf.budget_by_tier.diamond: unknown tier 'diamond' (known: {KNOWN})",
            f"goals.by_tier.targets.ruby: unknown tier 'ruby' (known: {KNOWN})",
        ],
        id="budgets-and-plans-by-tier",
    ),
    pytest.param(
        """
        tiers: {levels: [{key: basic, name: Basic}, {key: pro, name: Pro}]}
        rewards:
          rule_sets:
            - effective_from: 2026-01-01
              commission: {by_tier: {pro: 10}}
        goals:
          by_tier: {targets: {gold: {won_deals: 3}}}
        """,
        [
            "rewards.rule_sets[0].commission.by_tier: no commission rate for tier 'basic'",
            "goals.by_tier.targets.gold: unknown tier 'gold' (known: basic, pro)",
        ],
        id="a-custom-ladder",
    ),
    pytest.param(
        """
        tiers:
          levels:
            - {key: bronze, name: Bronze, min_won_deals: 5}
            - {key: silver, name: Silver, min_revenue: lots, min_won_deals: 1}
        """,
        [
            "tiers.levels[1].min_revenue: must be a number",
            "tiers.levels[1].min_won_deals: must be >= 5 (the value of the lower tier 'bronze')",
        ],
        id="a-threshold-that-is-not-a-number-leaves-the-others-checked",
    ),
    pytest.param(
        """
        tiers:
          levels:
            - {key: bronze, name: Bronze, min_revenue: 100}
            - {key: silver, name: Silver, min_revenue: -5}
        """,
        ["tiers.levels[1].min_revenue: must be >= 0"],
        id="a-negative-threshold-is-reported-once",
    ),
    pytest.param(
        """
        tiers:
          levels:
            - {key: bronze, name: Bronze, min_won_deals: 5, min_conversion: 10}
            - {key: silver, name: Silver, min_won_deals: 0, min_conversion: 0.5}
        """,
        [
            "tiers.levels[1].min_won_deals: must be >= 5 (the value of the lower tier 'bronze')",
            "tiers.levels[1].min_conversion: must be >= 10 (the value of the lower tier 'bronze')",
        ],
        id="zero-and-fractions-below-a-lower-tier",
    ),
    pytest.param(
        """
        tiers:
          levels:
            - {name: Bronze, min_won_deals: 5}
            - {key: silver, name: Silver, min_won_deals: 1}
        """,
        [
            "tiers.levels[0].key: required key is missing",
            "tiers.levels[1].min_won_deals: must be >= 5 (the value of the lower tier 'levels[0]')",
        ],
        id="a-lower-tier-without-a-key-is-named-by-position",
    ),
    pytest.param(
        """
        rewards:
          rule_sets:
            - effective_from: 2026-01-01
              commission: {brackets: [{from_revenue: 0, percent: 5}]}
            - effective_from: 2026-07-01
              commission: {by_tier: {bronze: 5, silver: 7, gold: 9}}
        """,
        ["rewards.rule_sets[1].commission.by_tier: no commission rate for tier 'platinum'"],
        id="rates-by-tier-after-a-set-of-brackets",
    ),
]


@pytest.mark.parametrize(("text", "expected"), TIER_MISTAKES)
def test_tier_mistakes_are_reported(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            """
            tiers:
              levels:
                - {key: bronze, name: Bronze, min_won_deals: 1, min_revenue: 0}
                - {key: silver, name: Silver, min_won_deals: 1}
                - {key: gold, name: Gold, min_revenue: 500}
                - {key: platinum, name: Platinum, min_won_deals: 3, min_revenue: 500}
            rewards:
              rule_sets:
                - effective_from: 2026-01-01
                  commission: {by_tier: {bronze: 5, silver: 7, gold: 9, platinum: 11}}
                - effective_from: 2026-07-01
                  commission: {by_tier: {}, brackets: [{from_revenue: 0, percent: 5}]}
              mdf: {budget_by_tier: {gold: 50000}}
            goals:
              by_tier: {targets: {silver: {won_deals: 2}}}
            """,
            id="equal-thresholds-full-rates",
        ),
    ],
)
def test_tiers_rates_and_budgets_that_agree_are_accepted(text: str) -> None:
    accepted(text)


# --- notifications: a route may only use an enabled channel -----------------------------------------

CHANNEL_MISTAKES = [
    pytest.param(
        """
        notifications:
          default: [crm, email]
          routing: {lead_assigned: [crm, telegram], tier_changed: [email, telegram]}
        """,
        [
            "notifications.default[1]: channel 'email' is not enabled in notifications.channels",
            "notifications.routing.lead_assigned[1]: channel 'telegram' is not enabled in "
            "notifications.channels",
            "notifications.routing.tier_changed[0]: channel 'email' is not enabled in notifications.channels",
            "notifications.routing.tier_changed[1]: channel 'telegram' is not enabled in "
            "notifications.channels",
        ],
        id="telegram-and-email-are-off-by-default",
    ),
    pytest.param(
        """
        notifications:
          channels: {crm: {enabled: false}, email: {enabled: true, smtp_host: smtp.x.ru, sender: a@x.ru}}
          default: [email, crm]
          routing: {lead_assigned: [crm]}
        """,
        [
            "notifications.default[1]: channel 'crm' is not enabled in notifications.channels",
            "notifications.routing.lead_assigned[0]: channel 'crm' is not enabled in notifications.channels",
        ],
        id="crm-switched-off",
    ),
    pytest.param(
        """
        notifications:
          channels: {telegram: {enabled: false}}
          routing: {new_partner: [telegram]}
        """,
        ["notifications.routing.new_partner[0]: channel 'telegram' is not enabled in notifications.channels"],
        id="telegram-switched-off",
    ),
    pytest.param(
        """
        notifications:
          channels: {crm: null}
          default: [crm]
        """,
        ["notifications.channels.crm: must be a mapping of keys"],
        id="an-empty-crm-channel-is-reported-once-not-as-disabled",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CHANNEL_MISTAKES)
def test_a_route_through_a_channel_that_is_off_is_reported(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            """
            notifications:
              channels: {telegram: {enabled: true, bot_token: "${TG_TOKEN}"}}
              default: [crm, telegram]
            """,
            id="telegram-on-crm-on-by-default",
        ),
        pytest.param(
            """
            notifications:
              channels: {crm: {mode: task}, email: {enabled: true, smtp_host: smtp.x.ru, sender: a@x.ru}}
              routing: {lead_assigned: [crm, email]}
            """,
            id="crm-and-email-on",
        ),
        pytest.param(
            """
            notifications:
              channels: {crm: {enabled: true}}
              default: [crm]
            """,
            id="crm-on-explicitly",
        ),
    ],
)
def test_routes_through_enabled_channels_are_accepted(text: str) -> None:
    parse_settings(_data(text), {**ENV, "TG_TOKEN": "123:abc"})


# --- notifications: events without a route go to notifications.default, [crm] unless written --------

EVENTS: tuple[str, ...] = get_args(EventName)
EVERY_EVENT = ", ".join(f"{event}: [email]" for event in EVENTS)
EMAIL_ON = "email: {enabled: true, smtp_host: smtp.x.ru, sender: a@x.ru}"
UNWRITTEN_DEFAULT = (
    "notifications.default: is [crm] when not written, and crm is switched off: events without a route "
    "in notifications.routing would reach no one; "
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            f"""
            notifications:
              channels:
                crm: {{enabled: false}}
                {EMAIL_ON}
                telegram: {{enabled: true, bot_token: "${{TG_TOKEN}}"}}
              routing: {{lead_assigned: [email]}}
            """,
            "write default: [telegram, email] (or default: [] to drop them)",
            id="other-channels-on",
        ),
        pytest.param(
            "notifications: {channels: {crm: {enabled: false}}}",
            "switch a channel on in notifications.channels, or write default: [] to drop them",
            id="every-channel-off",
        ),
        pytest.param(
            f"notifications: {{channels: {{crm: {{enabled: false}}, {EMAIL_ON}}}, routing: {{}}}}",
            "write default: [email] (or default: [] to drop them)",
            id="empty-routing",
        ),
    ],
)
def test_crm_switched_off_without_a_default_written_is_reported(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(_data(text), {**ENV, "TG_TOKEN": "123:abc"})
    assert caught.value.problems == [UNWRITTEN_DEFAULT + expected]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            f"notifications: {{channels: {{crm: {{enabled: false}}, {EMAIL_ON}}}, default: [email]}}",
            id="default-written",
        ),
        pytest.param(
            "notifications: {channels: {crm: {enabled: false}}, default: []}", id="dropped-on-purpose"
        ),
        pytest.param(
            f"""
            notifications:
              channels: {{crm: {{enabled: false}}, {EMAIL_ON}}}
              routing: {{{EVERY_EVENT}}}
            """,
            id="every-event-routed",
        ),
        pytest.param("notifications: {channels: {telegram: {enabled: false}}}", id="crm-on-by-default"),
    ],
)
def test_crm_switched_off_with_every_event_sent_somewhere_is_accepted(text: str) -> None:
    notifications = accepted(text).notifications
    enabled = set(notifications.enabled_channels())
    assert all(set(notifications.channels_for(event)) <= enabled for event in EVENTS)


# --- the state store's URL: no password written in the file -----------------------------------------

PASSWORD = "state.url: contains a password: write the URL as ${CRM_BRIDGE_STATE_URL} and set it in .env"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://bridge:hunter2@db/bridge", id="user-and-password"),
        pytest.param(
            "postgresql+psycopg://me@corp.ru:hunter2@db.corp.ru/bridge", id="a-user-named-by-e-mail"
        ),
        pytest.param("postgresql+psycopg://bridge:p@ss:w0rd@db/bridge", id="a-raw-at-sign-in-the-password"),
        pytest.param("postgresql+psycopg://bridge:pa/ss@db/bridge", id="a-raw-slash-in-the-password"),
        pytest.param(
            "postgresql+psycopg://bridge:hunter2@db/bridge?sslrootcert=file:///etc/ssl/ca.pem",
            id="a-url-in-the-query",
        ),
    ],
)
def test_a_password_written_in_the_state_url_is_refused(url: str) -> None:
    assert problems(f"state: {{url: '{url}'}}") == [PASSWORD]


MISREAD = (
    "state.url: has an '@' after the '?': the store would read all before it as user:password and "
    "connect to the host after it; write that '@' as %40"
)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://bridge@db:5432/bridge?application_name=crm@hq", id="after-a-port"),
        pytest.param("postgresql+psycopg://db:5432/bridge?application_name=crm@hq", id="no-user"),
    ],
)
def test_an_at_sign_in_the_query_that_the_store_would_misread_is_reported_as_such(url: str) -> None:
    assert problems(f"state: {{url: '{url}'}}") == [MISREAD]


@pytest.mark.parametrize(
    ("url", "env"),
    [
        pytest.param("postgresql+psycopg://bridge@db:5432/bridge", {}, id="no-password"),
        pytest.param("sqlite:///var/lib/crm-bridge/state.db", {}, id="sqlite"),
        pytest.param(
            "postgresql+psycopg://bridge@db:5432/bridge?application_name=crm%40hq", {}, id="at-sign-as-%40"
        ),
        pytest.param(
            "postgresql+psycopg://bridge@db/bridge?application_name=crm:hq@north",
            {},
            id="colon-and-at-sign-in-the-query",
        ),
        pytest.param("sqlite:///C:/crm:bridge@north/state.db", {}, id="colon-and-at-sign-in-the-path"),
        pytest.param(
            "postgresql+psycopg://bridge:${PG_PASSWORD}@db:5432/bridge?application_name=crm%40hq",
            {"PG_PASSWORD": "hunter2"},
            id="password-from-the-environment",
        ),
        pytest.param(
            "${CRM_BRIDGE_STATE_URL}",
            {"CRM_BRIDGE_STATE_URL": "postgresql+psycopg://bridge:hunter2@db/bridge"},
            id="from-the-environment",
        ),
    ],
)
def test_a_state_url_without_a_password_in_the_file_is_accepted(url: str, env: dict[str, str]) -> None:
    parse_settings(_data(f"state: {{url: '{url}'}}"), {**ENV, **env})


URLS = [
    "postgresql+psycopg://bridge:hunter2@db:5432/bridge",
    "postgresql+psycopg://bridge:pa/ss@db/bridge",
    "postgresql+psycopg://me@corp.ru:hunter2@db.corp.ru/bridge",
    "postgresql+psycopg://bridge:hunter2@db/bridge?sslrootcert=file:///etc/ssl/ca.pem",
    "postgresql+psycopg://bridge@db:5432/bridge?application_name=crm@hq",
    "postgresql+psycopg://bridge@[::1]:5432/bridge?application_name=crm@hq",
    "postgresql+psycopg://bridge@db:5432/bridge?application_name=crm%40hq",
    "postgresql+psycopg://bridge@db/bridge?application_name=crm:hq@north",
    "postgresql+psycopg://bridge@db/bridge?application_name=crm@hq",
    "postgresql+psycopg:///bridge?host=/run/postgresql&user=me@corp:1",
    "postgresql+psycopg://db/bridge",
    "sqlite:///C:/crm:bridge@north/state.db",
    "sqlite:///var/lib/crm-bridge/state.db",
]


@pytest.mark.parametrize("url", URLS)
def test_the_state_url_is_refused_exactly_when_the_store_would_read_a_password_in_it(url: str) -> None:
    from sqlalchemy.engine import make_url  # the store's parser (the check itself does not import it)

    try:
        parse_settings(_data(f"state: {{url: '{url}'}}"), ENV)
        refused = False
    except ConfigError:
        refused = True
    assert refused is (make_url(url).password is not None)
