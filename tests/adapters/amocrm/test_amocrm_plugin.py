"""The amoCRM adapter's declaration and construction: the demo's config section, the instance URL, the
secret redaction rule, the config's one-auth rule, the mapping override read beside the config file,
the curators and language taken from the settings, and the mapping file's validation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from amo_support import DESIRED, MemoryKV, token_config
from pydantic import ValidationError

import crm_bridge_amocrm
from crm_bridge.domain.layout import FieldEntity, FieldType
from crm_bridge.errors import ConfigError
from crm_bridge.ports import AdapterContext
from crm_bridge.redaction import redact
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import ADAPTER, AmoCrmConfig, create_adapter
from crm_bridge_amocrm.mapping import AmoMapping, field_code_for, load_mapping, shipped_mapping


def test_the_demo_section_uses_the_token_variable_and_lifts_the_limit_unless_asked(sandbox: Sandbox) -> None:
    snippet = sandbox.config_snippet()
    assert ADAPTER.demo is not None

    open_section, env = ADAPTER.demo.crm_section(snippet, False)
    limited, _ = ADAPTER.demo.crm_section(snippet, True)

    base = snippet["crm"]["amocrm"]["base_url"]
    assert open_section == {
        "base_url": base,
        "access_token": "${AMOCRM_ACCESS_TOKEN}",
        "rate_limit": {"burst": 10_000, "per_second": 10_000},
    }
    assert limited == {"base_url": base, "access_token": "${AMOCRM_ACCESS_TOKEN}"}
    assert env == {"AMOCRM_ACCESS_TOKEN": "sandbox-amocrm-long-lived-token"}
    assert ADAPTER.demo.limits_note == "amoCRM: 7 requests/s per integration"


def test_the_declaration(sandbox: Sandbox) -> None:
    config = AmoCrmConfig(base_url="https://partners.amocrm.ru", access_token="t")

    assert ADAPTER.instance_url(config) == "https://partners.amocrm.ru/"
    assert ADAPTER.default_mapping() == shipped_mapping()
    assert ADAPTER.secret_variables[("access_token",)] == "AMOCRM_ACCESS_TOKEN"
    assert redact("refresh def50200" + "ab" * 20 + " done") == "refresh def50200*** done"
    assert ADAPTER.capabilities.write_batch == 250


def test_the_shipped_config_defaults() -> None:
    config = AmoCrmConfig(base_url="https://partners.amocrm.ru", access_token="t")

    assert (config.rate_limit.burst, config.rate_limit.per_second, config.max_concurrency) == (7, 6.7, 4)


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {
            "access_token": "t",
            "oauth": {"client_id": "c", "client_secret": "s", "redirect_uri": "https://x.example"},
        },
    ],
)
def test_exactly_one_way_to_authenticate(auth: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        AmoCrmConfig(base_url="https://partners.amocrm.ru", **auth)  # type: ignore[arg-type]

    assert "set exactly one of access_token or oauth" in str(caught.value)


def test_create_adapter_reads_the_mapping_beside_the_config_and_takes_curators_and_language(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def layout_for(settings: object, locale: str) -> object:
        asked.append(locale)
        return DESIRED

    monkeypatch.setattr("crm_bridge.config.funnels.desired_layout_for", layout_for)
    (tmp_path / "amo-override.yaml").write_text("task_type_id: 3\n", encoding="utf-8")
    config = token_config(sandbox).model_copy(update={"mapping": Path("amo-override.yaml")})
    settings = SimpleNamespace(
        crm=SimpleNamespace(amocrm=config),
        curators=[SimpleNamespace(key="anna", crm_user_id="8000002")],
        locale="ru",
        source=tmp_path / "crm-bridge.yaml",
    )

    adapter = ADAPTER.create(settings, AdapterContext(kv=MemoryKV()))

    assert adapter.mapping.task_type_id == 3  # type: ignore[attr-defined]
    assert adapter.writes.user_ids == {"anna": "8000002"}  # type: ignore[attr-defined]
    assert adapter.language == "ru"  # type: ignore[attr-defined]
    assert asked == ["ru"] and adapter.desired is DESIRED  # type: ignore[attr-defined]
    assert adapter.limits_note == (  # type: ignore[attr-defined]
        "at most 10000 requests in any 1 s, shared by every process on this state store"
    )
    adapter.close()


def test_the_shipped_rate_limit_is_described_for_doctor(sandbox: Sandbox) -> None:
    shipped = AmoCrmConfig(base_url="https://partners.amocrm.ru", access_token="t").rate_limit
    config = token_config(sandbox).model_copy(update={"rate_limit": shipped})
    adapter = crm_bridge_amocrm.build_adapter(config, AdapterContext(kv=MemoryKV()))

    assert (
        adapter.limits_note == "at most 7 requests in any 1.04 s, shared by every process on this state store"
    )


def test_create_adapter_without_the_section_says_what_is_missing() -> None:
    with pytest.raises(ConfigError) as caught:
        create_adapter(SimpleNamespace(crm=SimpleNamespace(amocrm=None)), AdapterContext(kv=MemoryKV()))

    assert str(caught.value) == "crm.amocrm: the section is missing (base_url and access_token or oauth)"


def test_an_unknown_attribute_of_the_package_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError) as caught:
        crm_bridge_amocrm.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018

    assert str(caught.value) == "module 'crm_bridge_amocrm' has no attribute 'NoSuchThing'"


# -- the mapping file -------------------------------------------------------------------------------------


def test_field_codes_and_keys() -> None:
    mapping = load_mapping()

    assert field_code_for("partner-level x") == "CRM_BRIDGE_PARTNER_LEVEL_X"
    assert mapping.code(FieldEntity.PARTNER, "training_completed") == "CRM_BRIDGE_TRAINED"
    assert mapping.code(FieldEntity.PARTNER, "region") == "CRM_BRIDGE_REGION"
    assert mapping.key_for_code(FieldEntity.PARTNER, "CRM_BRIDGE_TRAINED") == "training_completed"
    assert mapping.key_for_code(FieldEntity.PARTNER, "CRM_BRIDGE_REGION") == "region"
    assert mapping.key_for_code(FieldEntity.PARTNER, "PHONE") is None
    assert mapping.key_for_code(FieldEntity.PARTNER, None) is None
    assert mapping.key_for_code(FieldEntity.PARTNER, "") is None
    assert mapping.amo_type(FieldType.USER) == "numeric" and mapping.amo_entity(FieldEntity.DEAL) == "leads"
    assert (mapping.contact_fields.phone, mapping.contact_fields.email, mapping.task_type_id) == (
        "PHONE",
        "EMAIL",
        1,
    )


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        (
            "fields:\n  partner:\n    tier: lower_case\n",
            "partner.tier: 'lower_case' must match [A-Z][A-Z0-9_]* (64 at most)",
        ),
        ("fields:\n  partner:\n    tier: " + "A" * 65 + "\n", "must match [A-Z][A-Z0-9_]* (64 at most)"),
        ("task_type_id: 0\n", "task_type_id"),
    ],
)
def test_a_bad_mapping_override_names_the_key(tmp_path: Path, override: str, problem: str) -> None:
    path = tmp_path / "over.yaml"
    path.write_text(override, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_mapping(path)

    assert problem in str(caught.value)


def test_a_code_of_64_characters_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "over.yaml"
    path.write_text("fields:\n  partner:\n    tier: " + "A" * 64 + "\n", encoding="utf-8")

    assert load_mapping(path).code(FieldEntity.PARTNER, "tier") == "A" * 64


def test_a_mapping_missing_entities_or_types_lists_them() -> None:
    mapping = load_mapping()
    data = mapping.model_dump()
    data["entities"].pop(FieldEntity.DEAL)
    data["field_types"].pop(FieldType.DATE)

    with pytest.raises(ValidationError) as caught:
        AmoMapping.model_validate(data)

    assert "missing entries for: deal, date" in str(caught.value)
