"""Typed loader of ``mappings/bitrix24.yaml``: user-field codes, type names and record fields.

The file ships in this distribution's wheel; ``crm.bitrix24.mapping`` in the config names a YAML file
merged over it key by key (a portal's own ``UF_CRM_PARTNER_LEVEL`` as the tier field, say). A bad
file raises ``ConfigError`` naming the offending key.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crm_bridge.config.crm import Strict as _Strict
from crm_bridge.domain.layout import FieldEntity, FieldType
from crm_bridge.plugin import merged_mapping

UF_PREFIX = "UF_CRM_"
UF_MAX_LENGTH = 50  # crm.company.userfield.add: the full name, prefix included
_UF_CODE = re.compile(r"^UF_CRM_[A-Z0-9_]+$")


class SourceMarks(_Strict):
    originator_id: str = Field(min_length=1)
    auth_connector: str = Field(min_length=1)


class RecordFields(_Strict):
    title: str
    amount: str
    currency: str
    responsible: str
    stage: str
    funnel: str
    created_at: str
    modified_at: str
    closed: str
    closed_at: str
    comment: str
    originator: str
    origin: str


def field_code_for(key: str) -> str:
    """The user-field code derived from a domain key: ``partner_level`` -> ``UF_CRM_PARTNER_LEVEL``."""
    body = re.sub(r"[^A-Z0-9_]", "_", key.upper())
    return (UF_PREFIX + body)[:UF_MAX_LENGTH]


class Bitrix24Mapping(_Strict):
    version: Literal[1]
    source: SourceMarks
    deal_entity_type_id: int = 2
    stage_code_max_length: int = Field(default=22, ge=8)
    lead_funnel: str
    entities: dict[FieldEntity, Literal["company", "deal", "lead", "contact"]]
    user_types: dict[FieldType, str]
    fields: dict[FieldEntity, dict[str, str]]
    records: RecordFields
    task_binding_prefix: dict[FieldEntity, str]
    required_scopes: tuple[str, ...]

    @field_validator("fields")
    @classmethod
    def _codes(cls, value: dict[FieldEntity, dict[str, str]]) -> dict[FieldEntity, dict[str, str]]:
        for entity, codes in value.items():
            for key, code in codes.items():
                if len(code) > UF_MAX_LENGTH or not _UF_CODE.match(code):
                    raise ValueError(
                        f"{entity.value}.{key}: {code!r} must match UF_CRM_[A-Z0-9_]+ and be at most "
                        f"{UF_MAX_LENGTH} characters (Bitrix24 adds the UF_CRM_ prefix itself)"
                    )
        return value

    @model_validator(mode="after")
    def _complete(self) -> Bitrix24Mapping:
        missing = [e.value for e in FieldEntity if e not in self.entities]
        missing += [t.value for t in FieldType if t not in self.user_types]
        if missing:
            raise ValueError(f"missing entries for: {', '.join(missing)}")
        return self

    def code(self, entity: FieldEntity, key: str) -> str:
        """The user-field code of domain field ``key`` on ``entity``."""
        return self.fields.get(entity, {}).get(key) or field_code_for(key)

    def key_for_code(self, entity: FieldEntity, code: str) -> str | None:
        for key, known in self.fields.get(entity, {}).items():
            if known == code:
                return key
        return None

    def userfield_entity(self, entity: FieldEntity) -> str:
        """``company``/``deal``: the ``crm.<x>.userfield.*`` family a domain entity's fields live in."""
        return self.entities[entity]

    def user_type(self, field_type: FieldType) -> str:
        return self.user_types[field_type]

    def field_type(self, user_type_id: str) -> FieldType | None:
        for field_type, name in self.user_types.items():
            if name == user_type_id:
                return field_type
        return None


def shipped_mapping() -> str:
    """The text of the mapping this distribution ships (``mappings/bitrix24.yaml``)."""
    return (
        resources.files("crm_bridge_bitrix24").joinpath("mappings/bitrix24.yaml").read_text(encoding="utf-8")
    )


def load_mapping(override: Path | None = None) -> Bitrix24Mapping:
    """The shipped mapping with ``override`` (``crm.bitrix24.mapping``) merged over it, validated.

    Raises ``ConfigError`` with one ``<file>: <key>: <problem>`` line per problem."""
    return merged_mapping(
        Bitrix24Mapping,
        shipped_mapping(),
        override,
        shipped_name="mappings/bitrix24.yaml",
        override_key="crm.bitrix24.mapping",
    )
