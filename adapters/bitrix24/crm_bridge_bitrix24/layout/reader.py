"""Read the portal's layout — our deal funnels with their stages, and our company/deal user fields —
in one ``batch`` request when the funnel ids are already known (two on a first run).

Recognition (crm_bridge.toolkit.recognition): funnels and stage codes through the state store, else by
the configured names; user fields by their code (mappings/bitrix24.yaml) or by the ``crm_bridge.<key>``
marker we give fields we create as XML_ID; enumeration options by XML_ID = option key. The company's
own funnels are not reported: they are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from crm_bridge.domain.layout import (
    DesiredLayout,
    FieldEntity,
    FieldType,
    ObservedField,
    ObservedFunnel,
    ObservedLayout,
    ObservedOption,
    ObservedStage,
)
from crm_bridge.toolkit.recognition import field_key, funnels_by_name, stage_key_by_name
from crm_bridge_bitrix24.catalog import LayoutState
from crm_bridge_bitrix24.client import Bitrix24Client, Command, Outcome
from crm_bridge_bitrix24.layout.stages import kind_of, stage_entity
from crm_bridge_bitrix24.mapping import Bitrix24Mapping
from crm_bridge_bitrix24.wire import Category, Status, UserField


@dataclass
class Snapshot:
    """Raw wire objects of one observation (kept for the apply step)."""

    categories: dict[int, Category] = field(default_factory=dict)  # ours only, by id
    statuses: dict[int, list[Status]] = field(default_factory=dict)
    userfields: dict[str, list[UserField]] = field(default_factory=dict)  # "company"/"deal" -> fields


def _rows(outcome: Outcome) -> list[dict[str, object]]:
    if outcome.error is not None:
        raise outcome.error
    result = outcome.result
    if isinstance(result, dict) and "categories" in result:
        return list(result["categories"])
    return list(result or [])


class LayoutReader:
    def __init__(
        self,
        client: Bitrix24Client,
        mapping: Bitrix24Mapping,
        state: LayoutState,
        desired: DesiredLayout | None,
        language: str = "en",
    ) -> None:
        self.language = language
        self.client = client
        self.mapping = mapping
        self.state = state
        self.desired = desired

    def _status_cmd(self, category_id: int) -> Command:
        return Command(
            "crm.status.list", {"order": {"SORT": "ASC"}, "filter": {"ENTITY_ID": stage_entity(category_id)}}
        )

    def _uf_entities(self) -> list[str]:
        return sorted(set(self.mapping.entities.values()) - {"lead", "contact"})

    def read(self) -> Snapshot:
        """One batch: funnels, user fields, and the stages of funnels we already know."""
        entities = self._uf_entities()
        known = sorted(set(self.state.funnels.values()))
        commands = [Command("crm.category.list", {"entityTypeId": self.mapping.deal_entity_type_id})]
        # Labels come back only with filter LANG (crm.company.userfield.list), on every page; we set
        # ours for every language.
        uf_params: dict[str, object] = {"order": {"ID": "ASC"}, "filter": {"LANG": self.language}}
        commands += [Command(f"crm.{e}.userfield.list", uf_params) for e in entities]
        commands += [self._status_cmd(cid) for cid in known]
        outcomes = self.client.batch(commands).outcomes
        snap = Snapshot()
        all_categories = [Category.model_validate(r) for r in _rows(outcomes[0])]
        for entity, outcome in zip(entities, outcomes[1 : 1 + len(entities)], strict=True):
            rows = _rows(outcome) + self._more(f"crm.{entity}.userfield.list", uf_params, outcome)
            snap.userfields[entity] = [UserField.model_validate(r) for r in rows]
        by_id = {c.id: c for c in all_categories}
        for cid, outcome in zip(known, outcomes[1 + len(entities) :], strict=True):
            if cid in by_id:
                snap.categories[cid] = by_id[cid]
                snap.statuses[cid] = [Status.model_validate(r) for r in _rows(outcome)]
        self._recognise_by_name(all_categories, snap)
        return snap

    def read_statuses(self, category_ids: Sequence[int]) -> dict[int, list[Status]]:
        """Stages of the given funnels in one batch."""
        outcomes = self.client.batch([self._status_cmd(cid) for cid in category_ids]).outcomes
        return {
            cid: [Status.model_validate(r) for r in _rows(o)]
            for cid, o in zip(category_ids, outcomes, strict=True)
        }

    def _more(self, method: str, params: dict[str, object], outcome: Outcome) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        start = outcome.next
        while start:
            envelope = self.client.call(method, {**params, "start": start})
            rows += list(envelope.result or [])
            start = envelope.next
        return rows

    def _recognise_by_name(self, categories: list[Category], snap: Snapshot) -> None:
        """First run (or a lost state store): our funnels are the ones carrying the configured names."""
        candidates = [(c.id, c.name) for c in categories if c.id not in snap.categories]
        found = funnels_by_name(self.desired, self.state.funnels, candidates)
        if not found:
            return
        for key, cid in found.items():
            self.state.funnels[key] = cid
            snap.categories[cid] = next(c for c in categories if c.id == cid)
        snap.statuses.update(self.read_statuses(sorted(found.values())))

    # -- translation to the domain's observed layout ------------------------------------------------
    def observed(self, snap: Snapshot) -> ObservedLayout:
        funnels = []
        for cid, category in sorted(snap.categories.items()):
            key = self.state.funnel_key(cid)
            stages = tuple(
                self._stage(key, s) for s in sorted(snap.statuses.get(cid, []), key=lambda s: s.sort)
            )
            funnels.append(ObservedFunnel(str(cid), key, category.name, stages, category.sort))
        return ObservedLayout(tuple(funnels), tuple(self._fields(snap)))

    def _stage(self, funnel_key: str | None, status: Status) -> ObservedStage:
        key = self.state.stage_key(funnel_key, status.status_id) if funnel_key else None
        if key is None and funnel_key:
            taken = self.state.stages.get(funnel_key, {})
            key = stage_key_by_name(self.desired, funnel_key, taken, status.name, kind_of(status))
        color = status.color or (status.extra.color if status.extra else "")
        return ObservedStage(
            crm_id=str(status.id),
            code=status.status_id,
            key=key,
            name=status.name,
            kind=kind_of(status),
            sort=status.sort,
            color=color,
            record_count=None,
            system=status.system,
        )

    def _fields(self, snap: Snapshot) -> list[ObservedField]:
        out: list[ObservedField] = []
        reported: set[int] = set()
        for entity in FieldEntity:
            family = self.mapping.userfield_entity(entity)
            for uf in snap.userfields.get(family, []):
                key = field_key(
                    self.desired,
                    entity,
                    mapped_key=self.mapping.key_for_code(entity, uf.field_name),
                    marker=uf.xml_id,
                    default_keys=self.mapping.fields.get(FieldEntity.DEAL, {}),
                )
                if key is None:
                    continue
                options = tuple(ObservedOption(str(i.id), i.xml_id or None, i.value) for i in uf.items)
                # One deal user field serves partner leads and deals alike; the plan matches each
                # observed field once, so the second report gets its own id ("<ID>@deal", see uf_id).
                crm_id = str(uf.id) if uf.id not in reported else f"{uf.id}@{entity.value}"
                reported.add(uf.id)
                field_type = self.mapping.field_type(uf.user_type_id) or FieldType.STRING
                out.append(
                    ObservedField(crm_id, uf.field_name, key, entity, uf.edit_form_label, field_type, options)
                )
        return out


def uf_id(observed_id: str | None) -> int:
    """The user field's numeric ID from an observed field id (``"6799"`` or ``"6799@deal"``)."""
    return int(str(observed_id or "0").split("@", 1)[0])
