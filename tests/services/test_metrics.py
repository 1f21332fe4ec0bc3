"""The daemon's metrics (prometheus_client, a registry per ``BridgeMetrics``): what ``GET /metrics``
shows, checked with Prometheus' own text parser."""

from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crm_bridge.ports import Entity
from crm_bridge.services.metrics import BridgeMetrics, method_family


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_crm_requests_are_counted_by_crm_method_family_and_status() -> None:
    metrics = BridgeMetrics()
    for status in (200, 200, 503, 0):
        metrics.on_request("bitrix24", "POST /rest/1/***/batch", status)
    metrics.on_request("bitrix24", "POST /rest/1/***/crm.deal.list", 200)

    got = samples(metrics.render())

    def key(family: str, status: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        return (
            "crm_bridge_crm_requests_total",
            (("crm", "bitrix24"), ("family", family), ("status", status)),
        )

    assert got[key("batch", "200")] == 2
    assert got[key("batch", "503")] == 1
    assert got[key("batch", "0")] == 1
    assert got[key("crm.deal", "200")] == 1


@pytest.mark.parametrize(
    ("endpoint", "family"),
    [
        ("POST /rest/1/***/crm.deal.list.json", "crm.deal"),
        ("POST /rest/batch", "batch"),
        ("GET /api/v4/leads/123/notes", "leads/notes"),
        ("PATCH /crm/v3/objects/deals/batch/update", "crm/objects/deals"),
        ("GET /crm/v3/objects/contacts/9f8e7d6c-aaaa", "crm/objects/contacts"),
        ("GET /", "other"),
        ("POST /bot1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage", "sendMessage"),
        ("POST /rest/1/k2x9q7w3e5r8t1y4/crm.lead.add", "crm.lead"),
        ("POST /rest/1/***/user.get", "user"),  # a method with one dot: its object
        ("GET /api/v4/leads?filter[id]=5&page=2", "leads"),  # the query is not part of the family
        ("GET /api/v4/leads?query=why?", "leads"),  # ... even with a '?' inside it
        ("GET /api/v4/leads?query=a b", "leads"),  # ... or a space
        ("GET /rest/api", "other"),  # nothing but the API prefix
    ],
)
def test_the_method_family_is_bounded_ids_and_secrets_left_out(endpoint: str, family: str) -> None:
    assert method_family(endpoint) == family


def test_records_synced_and_leads_distributed_add_up_per_label() -> None:
    metrics = BridgeMetrics()
    metrics.records_synced(Entity.LEAD, 50)
    metrics.records_synced(Entity.LEAD, 7)
    metrics.records_synced(Entity.PARTNER, 3)
    metrics.leads_distributed("anna", 4)
    metrics.leads_distributed("oleg")

    got = samples(metrics.render())

    assert got[("crm_bridge_records_synced_total", (("entity", "lead"),))] == 57
    assert got[("crm_bridge_records_synced_total", (("entity", "partner"),))] == 3
    assert got[("crm_bridge_leads_distributed_total", (("manager", "anna"),))] == 4
    assert got[("crm_bridge_leads_distributed_total", (("manager", "oleg"),))] == 1


def test_tasks_created_add_up_per_kind_and_none_created_adds_no_line() -> None:
    metrics = BridgeMetrics()
    metrics.tasks_created("distribution", 2)
    metrics.tasks_created("distribution", 3)
    metrics.tasks_created("escalation", 1)
    metrics.tasks_created("reminder", 0)

    got = {k: v for k, v in samples(metrics.render()).items() if k[0] == "crm_bridge_tasks_created_total"}

    assert got == {
        ("crm_bridge_tasks_created_total", (("kind", "distribution"),)): 5,
        ("crm_bridge_tasks_created_total", (("kind", "escalation"),)): 1,
    }


def test_a_job_run_records_its_duration_outcome_and_last_success_time() -> None:
    metrics = BridgeMetrics()
    metrics.job_finished("sync", 0.3, True, 1_780_000_000.0)
    metrics.job_finished("sync", 7.0, False, 1_780_000_100.0)

    got = samples(metrics.render())

    assert got[("crm_bridge_job_runs_total", (("job", "sync"), ("outcome", "ok")))] == 1
    assert got[("crm_bridge_job_runs_total", (("job", "sync"), ("outcome", "error")))] == 1
    assert got[("crm_bridge_job_duration_seconds_count", (("job", "sync"),))] == 2
    assert got[("crm_bridge_job_duration_seconds_sum", (("job", "sync"),))] == pytest.approx(7.3)
    assert got[("crm_bridge_job_duration_seconds_bucket", (("job", "sync"), ("le", "0.5")))] == 1
    assert got[("crm_bridge_job_duration_seconds_bucket", (("job", "sync"), ("le", "+Inf")))] == 2
    # a failed run does not move the last success time
    assert got[("crm_bridge_job_last_success_timestamp_seconds", (("job", "sync"),))] == 1_780_000_000.0


def test_every_metric_has_help_and_type_lines() -> None:
    text = BridgeMetrics().render().decode()

    families = {f.name: f.type for f in text_string_to_metric_families(text)}

    assert families["crm_bridge_crm_requests"] == "counter"
    assert families["crm_bridge_job_duration_seconds"] == "histogram"
    assert families["crm_bridge_job_last_success_timestamp_seconds"] == "gauge"
    for name in (
        "crm_bridge_crm_retries",
        "crm_bridge_rate_limit_waits",
        "crm_bridge_rate_limit_wait_seconds",
        "crm_bridge_records_synced",
        "crm_bridge_leads_distributed",
        "crm_bridge_leads_refused",
        "crm_bridge_tasks_created",
        "crm_bridge_notifications",
        "crm_bridge_intake_requests",
        "crm_bridge_intake_auth_refused",
        "crm_bridge_events_received",
        "crm_bridge_events_rejected",
        "crm_bridge_job_runs",
    ):
        assert families[name] == "counter", name
    assert "# HELP crm_bridge_records_synced_total " in text


def test_counting_from_many_threads_loses_nothing() -> None:
    metrics = BridgeMetrics()

    def work() -> None:
        for _ in range(2000):
            metrics.on_request("bitrix24", "GET x", 200)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert metrics.value("crm_bridge_crm_requests_total", crm="bitrix24", family="x", status="200") == 16_000


def test_retries_and_client_side_waits_are_counted_per_crm() -> None:
    from crm_bridge.services.metrics import HttpObserver

    metrics = BridgeMetrics()
    observer = HttpObserver(metrics)
    observer("amocrm", "GET /api/v4/leads", 429)
    observer.retried("amocrm", "rate_limit")
    observer.retried("amocrm", "rate_limit")
    observer.retried("hubspot", "timeout")
    observer.waited("amocrm", 1.5)
    observer.waited("amocrm", -3.0)  # a clock step back never lowers the total

    got = samples(metrics.render())

    assert (
        got[("crm_bridge_crm_requests_total", (("crm", "amocrm"), ("family", "leads"), ("status", "429")))]
        == 1
    )
    assert got[("crm_bridge_crm_retries_total", (("crm", "amocrm"), ("reason", "rate_limit")))] == 2
    assert got[("crm_bridge_crm_retries_total", (("crm", "hubspot"), ("reason", "timeout")))] == 1
    assert got[("crm_bridge_rate_limit_waits_total", (("crm", "amocrm"),))] == 2
    assert got[("crm_bridge_rate_limit_wait_seconds_total", (("crm", "amocrm"),))] == 1.5


def test_the_daily_quota_and_the_pause_it_causes_are_gauges() -> None:
    metrics = BridgeMetrics()
    metrics.crm_quota("hubspot", 120, 250000, "daily_quota")
    paused = samples(metrics.render())
    metrics.crm_quota("hubspot", 90000, 250000, "")
    resumed = samples(metrics.render())

    crm = (("crm", "hubspot"),)
    assert paused[("crm_bridge_crm_daily_quota_remaining", crm)] == 120
    assert paused[("crm_bridge_crm_daily_quota_limit", crm)] == 250000
    assert paused[("crm_bridge_crm_paused", (("crm", "hubspot"), ("reason", "daily_quota")))] == 1
    assert resumed[("crm_bridge_crm_daily_quota_remaining", crm)] == 90000
    assert resumed[("crm_bridge_crm_paused", (("crm", "hubspot"), ("reason", "daily_quota")))] == 0


def test_events_received_and_refused_are_counted_by_source_and_reason() -> None:
    metrics = BridgeMetrics()
    metrics.crm_events_received("bitrix24", 3)
    metrics.crm_events_refused("bitrix24", "signature")
    metrics.crm_events_refused("bitrix24", "duplicate", 2)
    metrics.event_answered("training", "accepted")
    metrics.event_answered("training", "unauthorized")

    got = samples(metrics.render())

    assert got[("crm_bridge_events_received_total", (("source", "bitrix24"),))] == 3
    assert got[("crm_bridge_events_rejected_total", (("reason", "signature"), ("source", "bitrix24")))] == 1
    assert got[("crm_bridge_events_rejected_total", (("reason", "duplicate"), ("source", "bitrix24")))] == 2
    assert got[("crm_bridge_events_received_total", (("source", "training"),))] == 2
    assert (
        got[("crm_bridge_events_rejected_total", (("reason", "unauthorized"), ("source", "training")))] == 1
    )
    assert ("crm_bridge_events_rejected_total", (("reason", "accepted"), ("source", "training"))) not in got


def test_refused_leads_and_notifications_are_counted_and_an_absent_sample_reads_zero() -> None:
    metrics = BridgeMetrics()
    assert metrics.value("crm_bridge_notifications_total", channel="email", outcome="failed") == 0.0
    metrics.leads_refused()
    metrics.leads_refused(3)
    metrics.notification("telegram", "sent")
    metrics.notification("telegram", "sent")
    metrics.notification("email", "retry")

    got = samples(metrics.render())

    assert got[("crm_bridge_leads_refused_total", ())] == 4
    assert got[("crm_bridge_notifications_total", (("channel", "telegram"), ("outcome", "sent")))] == 2
    assert got[("crm_bridge_notifications_total", (("channel", "email"), ("outcome", "retry")))] == 1
    assert metrics.value("crm_bridge_notifications_total", channel="email", outcome="retry") == 1.0
    assert metrics.value("crm_bridge_notifications_total", channel="email", outcome="failed") == 0.0
