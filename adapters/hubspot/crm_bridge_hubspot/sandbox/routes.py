"""The HubSpot emulator's URL map: CRM v3/v4 paths to handlers, and the webhook settings paths
(``/webhooks/v3/{appId}`` and the dated ``/app-webhooks/2026-09/{appId}``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from crm_bridge.sandbox.core import SandboxResponse
from crm_bridge_hubspot.sandbox import associations as assoc
from crm_bridge_hubspot.sandbox import batch as batch
from crm_bridge_hubspot.sandbox import objects as objects
from crm_bridge_hubspot.sandbox import pipelines as pipes
from crm_bridge_hubspot.sandbox import schema as schema
from crm_bridge_hubspot.sandbox import search as search
from crm_bridge_hubspot.sandbox import webhooks as hooks

Handler = Callable[..., SandboxResponse]
_T, _ID = r"([A-Za-z0-9_-]+)", r"([^/]+)"
_CRM: list[tuple[str, dict[str, Handler]]] = [
    (rf"/crm/v3/objects/{_T}", {"GET": objects.list_objects, "POST": objects.post_object}),
    (rf"/crm/v3/objects/{_T}/search", {"POST": search.search}),
    (rf"/crm/v3/objects/{_T}/batch/create", {"POST": batch.batch_create}),
    (rf"/crm/v3/objects/{_T}/batch/read", {"POST": batch.batch_read}),
    (rf"/crm/v3/objects/{_T}/batch/update", {"POST": batch.batch_update}),
    (rf"/crm/v3/objects/{_T}/batch/upsert", {"POST": batch.batch_upsert}),
    (rf"/crm/v3/objects/{_T}/batch/archive", {"POST": batch.batch_archive}),
    (
        rf"/crm/v3/objects/{_T}/{_ID}",
        {"GET": objects.get_object, "PATCH": objects.patch_object, "DELETE": objects.delete_object},
    ),
    (rf"/crm/v3/properties/{_T}", {"GET": schema.list_properties, "POST": schema.create_property}),
    (rf"/crm/v3/properties/{_T}/batch/(create|read|archive)", {"POST": schema.batch_properties}),
    (rf"/crm/v3/properties/{_T}/groups", {"GET": schema.list_groups, "POST": schema.create_group}),
    (
        rf"/crm/v3/properties/{_T}/groups/{_ID}",
        {"GET": schema.get_group, "PATCH": schema.update_group, "DELETE": schema.archive_group},
    ),
    (
        rf"/crm/v3/properties/{_T}/{_ID}",
        {"GET": schema.get_property, "PATCH": schema.update_property, "DELETE": schema.archive_property},
    ),
    (rf"/crm/v3/pipelines/{_T}", {"GET": pipes.list_pipelines, "POST": pipes.create_pipeline}),
    (
        rf"/crm/v3/pipelines/{_T}/{_ID}",
        {
            "GET": pipes.get_pipeline,
            "PUT": pipes.replace_pipeline,
            "PATCH": pipes.patch_pipeline,
            "DELETE": pipes.delete_pipeline,
        },
    ),
    (rf"/crm/v3/pipelines/{_T}/{_ID}/stages", {"GET": pipes.list_stages, "POST": pipes.create_stage}),
    (
        rf"/crm/v3/pipelines/{_T}/{_ID}/stages/{_ID}",
        {
            "GET": pipes.get_stage,
            "PUT": pipes.update_stage,
            "PATCH": pipes.update_stage,
            "DELETE": pipes.delete_stage,
        },
    ),
    (r"/crm/v3/owners", {"GET": schema.list_owners}),
    (rf"/crm/v3/owners/{_ID}", {"GET": schema.get_owner}),
    (rf"/crm/v4/objects/{_T}/{_ID}/associations/default/{_T}/{_ID}", {"PUT": assoc.put_default}),
    (rf"/crm/v4/objects/{_T}/{_ID}/associations/{_T}", {"GET": assoc.list_associations}),
    (
        rf"/crm/v4/objects/{_T}/{_ID}/associations/{_T}/{_ID}",
        {"PUT": assoc.put_labelled, "DELETE": assoc.delete_association},
    ),
    (rf"/crm/v4/associations/{_T}/{_T}/batch/(create|read|archive)", {"POST": assoc.batch}),
    # association labels: the official spec's path and the one HubSpot's guide and SDK use
    (
        rf"/crm/(?:associations/v4|v4/associations)/{_T}/{_T}/labels",
        {"GET": assoc.list_labels, "POST": assoc.create_label, "PUT": assoc.update_label},
    ),
    (rf"/crm/(?:associations/v4|v4/associations)/{_T}/{_T}/labels/{_ID}", {"DELETE": assoc.delete_label}),
    (rf"/crm/v4/associations/{_T}/{_T}/batch/associate/(default)", {"POST": assoc.batch}),
]
CRM_ROUTES = [(re.compile(p), m) for p, m in _CRM]
HOOK_PREFIX = re.compile(r"^/(?:webhooks/v3|app-webhooks/2026-09)/(\d+)(/.*)$")
HOOK_ROUTES: list[tuple[re.Pattern[str], dict[str, Any]]] = [
    (
        re.compile(r"/settings"),
        {"GET": hooks.get_settings, "PUT": hooks.put_settings, "DELETE": hooks.delete_settings},
    ),
    (re.compile(r"/subscriptions"), {"GET": hooks.list_subscriptions, "POST": hooks.create_subscription}),
    (re.compile(r"/subscriptions/batch/update"), {"POST": hooks.batch_update_subscriptions}),
    (
        re.compile(r"/subscriptions/(\d+)"),
        {
            "GET": hooks.get_subscription,
            "PATCH": hooks.patch_subscription,
            "DELETE": hooks.delete_subscription,
        },
    ),
]
