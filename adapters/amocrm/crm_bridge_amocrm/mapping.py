"""Typed loader of ``mappings/amocrm.yaml``: entities, field types and codes, contact fields.

The file ships in this distribution's wheel; ``crm.amocrm.mapping`` in the config names a YAML file
merged over it key by key (an account's own field code for the tier, say). A bad file raises
``ConfigError`` naming the offending key.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_bridge.domain.layout import FieldEntity, FieldType
from crm_bridge.plugin import merged_mapping

CODE_PREFIX = "CRM_BRIDGE_"
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
AmoEntity = Literal["leads", "companies", "contacts"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactFields(_Strict):
    phone: str = "PHONE"
    email: str = "EMAIL"


def field_code_for(key: str) -> str:
    """The field code derived from a domain key: ``partner_level`` -> ``CRM_BRIDGE_PARTNER_LEVEL``."""
    return CODE_PREFIX + re.sub(r"[^A-Z0-9_]", "_", key.upper())


class AmoMapping(_Strict):
    version: Literal[1]
    lead_funnel: str
    entities: dict[FieldEntity, AmoEntity]
    field_types: dict[FieldType, str]
    fields: dict[FieldEntity, dict[str, str]]
    api_only: tuple[str, ...] = ()
    contact_fields: ContactFields = ContactFields()
    task_type_id: int = Field(default=1, gt=0)

    @field_validator("fields")
    @classmethod
    def _codes(cls, value: dict[FieldEntity, dict[str, str]]) -> dict[FieldEntity, dict[str, str]]:
        for entity, codes in value.items():
            for key, code in codes.items():
                if not _CODE.match(code):
                    raise ValueError(
                        f"{entity.value}.{key}: {code!r} must match [A-Z][A-Z0-9_]* (64 at most)"
                    )
        return value

    @model_validator(mode="after")
    def _complete(self) -> AmoMapping:
        missing = [e.value for e in FieldEntity if e not in self.entities]
        missing += [t.value for t in FieldType if t not in self.field_types]
        if missing:
            raise ValueError(f"missing entries for: {', '.join(missing)}")
        return self

    def code(self, entity: FieldEntity, key: str) -> str:
        return self.fields.get(entity, {}).get(key) or field_code_for(key)

    def key_for_code(self, entity: FieldEntity, code: str | None) -> str | None:
        if not code:
            return None
        for key, known in self.fields.get(entity, {}).items():
            if known == code:
                return key
        if code.startswith(CODE_PREFIX):
            return code[len(CODE_PREFIX) :].lower()
        return None

    def amo_entity(self, entity: FieldEntity) -> AmoEntity:
        return self.entities[entity]

    def amo_type(self, field_type: FieldType) -> str:
        return self.field_types[field_type]


def shipped_mapping() -> str:
    """The text of the mapping this distribution ships (``mappings/amocrm.yaml``)."""
    return resources.files("crm_bridge_amocrm").joinpath("mappings/amocrm.yaml").read_text(encoding="utf-8")


def load_mapping(override: Path | None = None) -> AmoMapping:
    """The shipped mapping with ``override`` (``crm.amocrm.mapping``) merged over it, validated."""
    return merged_mapping(
        AmoMapping,
        shipped_mapping(),
        override,
        shipped_name="mappings/amocrm.yaml",
        override_key="crm.amocrm.mapping",
    )
