"""Wire test of reading a portal with more than one page of user fields (layout/reader.py): every page
is asked with the ``LANG`` filter, the only way Bitrix24 returns the labels (crm.company.userfield.list),
so a field of ours past the first 50 keeps its label and a re-run does not relabel it."""

from __future__ import annotations

import json
from typing import Any

import responses
from b24_wire_support import HOOK, TIME, _adapter, _batch, _sent

from crm_bridge.domain.layout import FieldEntity


def _field(uf_id: int, name: str, with_label: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ID": str(uf_id),
        "ENTITY_ID": "CRM_COMPANY",
        "FIELD_NAME": name,
        "USER_TYPE_ID": "string",
    }
    if with_label:  # labels come back only when the request filters by LANG
        row["EDIT_FORM_LABEL"] = f"Label of {name}"
    return row


@responses.activate
def test_every_page_of_user_fields_is_read_with_its_labels() -> None:
    first_page = [_field(i, f"UF_CRM_OTHER_{i}", True) for i in range(1, 51)]
    answer = _batch({"c0": {"categories": []}, "c1": first_page, "c2": []})
    answer["result"]["result_next"] = {"c1": 50}
    answer["result"]["result_total"] = {"c1": 52}
    responses.post(HOOK + "batch", json=answer)

    def second_page(request: Any) -> tuple[int, dict[str, str], str]:
        params = json.loads(request.body)
        with_label = params.get("filter", {}).get("LANG") == "en"
        rows = [_field(51, "UF_CRM_OTHER_51", with_label), _field(52, "UF_CRM_PARTNER_REGION", with_label)]
        return 200, {}, json.dumps({"result": rows, "total": 52, "time": TIME})

    responses.add_callback(responses.POST, HOOK + "crm.company.userfield.list", callback=second_page)

    observed = _adapter().observe_layout()

    [region] = [f for f in observed.fields if f.key == "region" and f.entity is FieldEntity.PARTNER]
    assert (region.code, region.label, region.crm_id) == (
        "UF_CRM_PARTNER_REGION",
        "Label of UF_CRM_PARTNER_REGION",
        "52",
    )
    assert _sent(responses.calls[1]) == {"order": {"ID": "ASC"}, "filter": {"LANG": "en"}, "start": 50}
    assert len(responses.calls) == 2
