"""Typed loader of ``mappings/hubspot.yaml``: property names, types, the property group, association
type ids and the scopes the doctor probes.

The file ships in this distribution's wheel; ``crm.hubspot.mapping`` in the config names a YAML file
merged over it key by key (a portal's own ``partner_level`` property as the tier, say). A bad file
raises ``ConfigError`` naming the offending key.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_bridge.domain.layout import FieldEntity, FieldType
from crm_bridge.plugin import merged_mapping

PREFIX = "crm_bridge_"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Group(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)


class PartnerLabel(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    inverse_label: str = Field(min_length=1)


class Associations(_Strict):
    deal_to_company: int
    deal_to_contact: int
    task_to_deal: int
    task_to_company: int
    partner_label: PartnerLabel


# The lead's partner reference is the partner association label (mapping ``associations.partner_label``)
LABEL_FIELD = (FieldEntity.LEAD, "partner_ref")


def property_for(key: str) -> str:
    """The property name derived from a domain key: ``partner_level`` -> ``crm_bridge_partner_level``."""
    return PREFIX + re.sub(r"[^a-z0-9_]", "_", key.lower())


class HubSpotMapping(_Strict):
    version: Literal[1]
    lead_funnel: str
    group: Group
    objects: dict[FieldEntity, Literal["companies", "deals", "contacts"]]
    types: dict[FieldType, tuple[str, str]]
    properties: dict[FieldEntity, dict[str, str]]
    unique: tuple[str, ...] = ()
    associations: Associations
    required_scopes: dict[str, str]

    @field_validator("properties")
    @classmethod
    def _names(cls, value: dict[FieldEntity, dict[str, str]]) -> dict[FieldEntity, dict[str, str]]:
        for entity, names in value.items():
            for key, name in names.items():
                if not _NAME.match(name):
                    raise ValueError(
                        f"{entity.value}.{key}: {name!r} is not a HubSpot property name "
                        "(lower case a-z, 0-9 and _, starting with a letter)"
                    )
        return value

    @model_validator(mode="after")
    def _complete(self) -> HubSpotMapping:
        missing = [e.value for e in FieldEntity if e not in self.objects]
        missing += [t.value for t in FieldType if t not in self.types]
        if missing:
            raise ValueError(f"missing entries for: {', '.join(missing)}")
        return self

    def name(self, entity: FieldEntity, key: str) -> str:
        """The property name of domain field ``key`` on ``entity``."""
        return self.properties.get(entity, {}).get(key) or property_for(key)

    def object_of(self, entity: FieldEntity) -> str:
        return self.objects[entity]


def shipped_mapping() -> str:
    """The text of the mapping this distribution ships (``mappings/hubspot.yaml``)."""
    return resources.files("crm_bridge_hubspot").joinpath("mappings/hubspot.yaml").read_text(encoding="utf-8")


def load_mapping(override: Path | None = None) -> HubSpotMapping:
    """The shipped mapping with ``override`` (``crm.hubspot.mapping``) merged over it, validated."""
    return merged_mapping(
        HubSpotMapping,
        shipped_mapping(),
        override,
        shipped_name="mappings/hubspot.yaml",
        override_key="crm.hubspot.mapping",
    )
