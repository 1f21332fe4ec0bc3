"""In-memory state of the HubSpot emulator: one portal's objects, properties, pipelines, owners and
associations, seeded like a new HubSpot account (the "default" deal pipeline with its seven stages,
HubSpot-defined properties and groups, a few owners).

Object types are addressed by name or id (contacts 0-1, companies 0-2, deals 0-3, tasks 0-27);
association type ids are HubSpot's HUBSPOT_DEFINED ones (deal->company 341, task->deal 216, ...).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tasks": "0-27"}
_ALIASES = {
    **{name: name for name in OBJECT_TYPE_IDS},
    **{tid: name for name, tid in OBJECT_TYPE_IDS.items()},
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "task": "tasks",
}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "tasks": "task"}
# (from, to) -> default (unlabeled) HUBSPOT_DEFINED association type id; the reverse pair is listed too.
DEFAULT_ASSOCIATION = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
    ("tasks", "contacts"): 204,
    ("contacts", "tasks"): 203,
    ("tasks", "companies"): 192,
    ("companies", "tasks"): 191,
    ("tasks", "deals"): 216,
    ("deals", "tasks"): 215,
}
# Labelled HUBSPOT_DEFINED types: "Primary" company of a contact (1/2) and of a deal (5/6).
LABELLED_ASSOCIATION = {
    ("contacts", "companies"): {1: "Primary"},
    ("companies", "contacts"): {2: "Primary"},
    ("deals", "companies"): {5: "Primary"},
    ("companies", "deals"): {6: "Primary"},
}
USER_LABEL_TYPES = 1001  # type ids HubSpot gives USER_DEFINED labels start low in the thousands
INVERSE_TYPE = {279: 280, 3: 4, 341: 342, 204: 203, 192: 191, 216: 215, 1: 2, 5: 6}
INVERSE_TYPE.update({v: k for k, v in list(INVERSE_TYPE.items())})
MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "tasks": "hs_lastmodifieddate",
}
CREATED_PROPERTY = {
    "contacts": "createdate",
    "companies": "createdate",
    "deals": "createdate",
    "tasks": "hs_createdate",
}
DEFAULT_READ = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "deals": [
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ],
    "tasks": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
}
DEFAULT_GROUP = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
    "tasks": "task",
}


def resolve_type(name: str) -> str | None:
    return _ALIASES.get(name.lower())


def iso(ts: float) -> str:
    """HubSpot's timestamps: ISO 8601 UTC with milliseconds and Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


@dataclass
class HsState:
    portal_id: int
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    pipelines: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (from_type, from_id, to_type, to_id) -> {type_id: (category, label)}
    associations: dict[tuple[str, str, str, str], dict[int, tuple[str, str | None]]] = field(
        default_factory=dict
    )
    sequence: int = 1000
    indexed_at: dict[tuple[str, str], float] = field(default_factory=dict)
    search_delay: float = 0.0  # seconds before a changed record shows up in search (HubSpot indexes lazily)
    pending_batch_failures: int = 0  # fault injection: trailing inputs of the next batch writes fail (207)
    # (object type, unique property) -> value -> record id: built on first lookup, kept by every write
    unique_index: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # USER_DEFINED association labels: (from, to) -> type id -> {"label", "name", "inverse"}
    user_labels: dict[tuple[str, str], dict[int, dict[str, Any]]] = field(default_factory=dict)
    next_label_type: int = USER_LABEL_TYPES

    def labels(self, from_type: str, to_type: str) -> dict[int, tuple[str, str]]:
        """Labelled association types of a pair: type id -> (category, label)."""
        out = {
            t: ("HUBSPOT_DEFINED", lb) for t, lb in LABELLED_ASSOCIATION.get((from_type, to_type), {}).items()
        }
        for type_id, spec in self.user_labels.get((from_type, to_type), {}).items():
            out[type_id] = ("USER_DEFINED", spec["label"])
        return out

    def inverse(self, from_type: str, to_type: str, type_id: int) -> int:
        spec = self.user_labels.get((from_type, to_type), {}).get(type_id)
        return int(spec["inverse"]) if spec else INVERSE_TYPE.get(type_id, type_id)

    def add_label(self, from_type: str, to_type: str, name: str, label: str, inverse: str | None) -> None:
        """A USER_DEFINED label and its inverse (the same label when none is given)."""
        forward, back = self.next_label_type, self.next_label_type + 1
        self.next_label_type += 2
        pair = self.user_labels.setdefault((from_type, to_type), {})
        pair[forward] = {"label": label, "name": name, "inverse": back}
        if from_type == to_type:
            pair[back] = {"label": inverse or label, "name": f"{name}_inverse", "inverse": forward}
        else:
            reverse = self.user_labels.setdefault((to_type, from_type), {})
            reverse[back] = {"label": inverse or label, "name": name, "inverse": forward}

    def next_id(self) -> str:
        self.sequence += 1
        return str(self.sequence)

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int, category: str
    ) -> None:
        label = self.labels(from_type, to_type).get(type_id, ("", None))[1]
        self.associations.setdefault((from_type, from_id, to_type, to_id), {})[type_id] = (category, label)
        back = self.inverse(from_type, to_type, type_id)
        back_label = self.labels(to_type, from_type).get(back, ("", None))[1]
        self.associations.setdefault((to_type, to_id, from_type, from_id), {})[back] = (category, back_label)

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> bool:
        found = self.associations.pop((from_type, from_id, to_type, to_id), None)
        self.associations.pop((to_type, to_id, from_type, from_id), None)
        return found is not None

    def associated(
        self, from_type: str, from_id: str, to_type: str
    ) -> dict[str, dict[int, tuple[str, str | None]]]:
        return {
            key[3]: types
            for key, types in self.associations.items()
            if key[0] == from_type and key[1] == from_id and key[2] == to_type
        }

    def dump(self) -> dict[str, Any]:
        return {
            "portal_id": self.portal_id,
            "objects": {t: list(copy.deepcopy(o).values()) for t, o in self.objects.items()},
            "properties": {t: list(copy.deepcopy(p).values()) for t, p in self.properties.items()},
            "groups": {t: list(copy.deepcopy(g).values()) for t, g in self.groups.items()},
            "pipelines": {t: list(copy.deepcopy(p).values()) for t, p in self.pipelines.items()},
            "owners": list(copy.deepcopy(self.owners).values()),
            "associations": [
                {
                    "from": [k[0], k[1]],
                    "to": [k[2], k[3]],
                    "types": [{"typeId": t, "category": c, "label": lb} for t, (c, lb) in sorted(v.items())],
                }
                for k, v in self.associations.items()
            ],
            "labels": [
                {"from": f, "to": t, "typeId": i, **spec}
                for (f, t), specs in self.user_labels.items()
                for i, spec in specs.items()
            ],
            "internal": {
                "next_label_type": self.next_label_type,
                "sequence": self.sequence,
                "search_delay": self.search_delay,
                "indexed_at": [[t, i, at] for (t, i), at in self.indexed_at.items()],
            },
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> HsState:
        """The inverse of ``dump()`` (a saved sandbox survives a restart)."""
        data = copy.deepcopy(data)
        state = cls(portal_id=data["portal_id"])
        state.objects = {t: {o["id"]: o for o in items} for t, items in data["objects"].items()}
        state.properties = {t: {p["name"]: p for p in items} for t, items in data["properties"].items()}
        state.groups = {t: {g["name"]: g for g in items} for t, items in data["groups"].items()}
        state.pipelines = {t: {p["id"]: p for p in items} for t, items in data["pipelines"].items()}
        state.owners = {o["id"]: o for o in data["owners"]}
        for link in data["associations"]:
            key = (link["from"][0], link["from"][1], link["to"][0], link["to"][1])
            state.associations[key] = {t["typeId"]: (t["category"], t["label"]) for t in link["types"]}
        for spec in data.get("labels", []):
            entry = {k: spec[k] for k in ("label", "name", "inverse")}
            state.user_labels.setdefault((spec["from"], spec["to"]), {})[spec["typeId"]] = entry
        internal = data["internal"]
        state.next_label_type = internal.get("next_label_type", USER_LABEL_TYPES)
        state.sequence = internal["sequence"]
        state.search_delay = internal["search_delay"]
        state.indexed_at = {(t, i): at for t, i, at in internal["indexed_at"]}
        return state


STAGE_ENTERED, STAGE_EXITED = "hs_date_entered_", "hs_date_exited_"


def stage_property(state: HsState, name: str) -> bool:
    """Whether ``name`` is one of the calculated properties HubSpot keeps for each deal stage
    (``hs_date_entered_<stage id>``, ``hs_date_exited_<stage id>``) of an existing stage."""
    for prefix in (STAGE_ENTERED, STAGE_EXITED):
        if name.startswith(prefix):
            sid = name[len(prefix) :]
            return any(s["id"] == sid for p in state.pipelines.get("deals", {}).values() for s in p["stages"])
    return False


def property_model(
    name: str, label: str, kind: str, field_type: str, group: str, now: float, **extra: Any
) -> dict[str, Any]:
    model: dict[str, Any] = {
        "updatedAt": iso(now),
        "createdAt": iso(now),
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "description": extra.pop("description", ""),
        "groupName": group,
        "options": extra.pop("options", []),
        "displayOrder": extra.pop("displayOrder", -1),
        "calculated": False,
        "externalOptions": extra.pop("externalOptions", False),
        "hasUniqueValue": extra.pop("hasUniqueValue", False),
        "hidden": extra.pop("hidden", False),
        "hubspotDefined": extra.pop("hubspotDefined", False),
        "modificationMetadata": {
            "archivable": not extra.get("read_only", False),
            "readOnlyDefinition": extra.get("read_only_definition", False),
            "readOnlyValue": extra.pop("read_only", False),
        },
        "formField": extra.pop("formField", False),
        "dataSensitivity": extra.pop("dataSensitivity", "non_sensitive"),
    }
    extra.pop("read_only_definition", None)
    model.update({k: v for k, v in extra.items() if v is not None})
    return model


def stage_model(sid: str, label: str, order: int, metadata: dict[str, Any], now: float) -> dict[str, Any]:
    probability = str(metadata.get("probability", ""))
    closed = metadata.get("isClosed")
    if closed is None:
        closed = probability in ("1.0", "0.0", "1", "0")
    return {
        "id": sid,
        "label": label,
        "displayOrder": order,
        "metadata": {**{k: str(v) for k, v in metadata.items()}, "isClosed": str(closed).lower()},
        "archived": False,
        "createdAt": iso(now),
        "updatedAt": iso(now),
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def add_owner(
    state: HsState, first: str, last: str, email: str, now: float, owner_id: str | None = None
) -> str:
    oid = owner_id or state.next_id()
    user_id = 9000000 + len(state.owners) + 1
    state.owners[oid] = {
        "id": oid,
        "email": email,
        "type": "PERSON",
        "firstName": first,
        "lastName": last,
        "userId": user_id,
        "userIdIncludingInactive": user_id,
        "createdAt": iso(now),
        "updatedAt": iso(now),
        "archived": False,
        "teams": [],
    }
    return oid
