"""The metrics registry: what ``GET /metrics`` shows, checked with Prometheus' own text parser."""

from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crm_bridge.ports import Entity
from crm_bridge.services.metrics import BridgeMetrics, MetricsRegistry


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_crm_requests_are_counted_by_crm_and_status() -> None:
    metrics = BridgeMetrics()
    for status in (200, 200, 503, 0):
        metrics.on_request("bitrix24", "POST batch", status)

    got = samples(metrics.render())

    assert got[("crm_bridge_crm_requests_total", (("crm", "bitrix24"), ("status", "200")))] == 2
    assert got[("crm_bridge_crm_requests_total", (("crm", "bitrix24"), ("status", "503")))] == 1
    assert got[("crm_bridge_crm_requests_total", (("crm", "bitrix24"), ("status", "0")))] == 1


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


def test_label_values_with_quotes_backslashes_and_newlines_are_escaped() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("demo_events", "Events.", ("name",))
    counter.inc(name='say "hi"\\ now\nplease')

    got = samples(registry.render())

    assert got[("demo_events_total", (("name", 'say "hi"\\ now\nplease'),))] == 1


def test_every_metric_has_help_and_type_lines() -> None:
    text = BridgeMetrics().render()

    families = {f.name: f.type for f in text_string_to_metric_families(text)}

    assert families["crm_bridge_crm_requests"] == "counter"
    assert families["crm_bridge_job_duration_seconds"] == "histogram"
    assert families["crm_bridge_job_last_success_timestamp_seconds"] == "gauge"
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

    assert metrics.crm_requests.value(crm="bitrix24", status="200") == 16_000


def test_wrong_labels_negative_counts_and_duplicate_names_are_refused() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("things", "Things.", ("kind",))
    with pytest.raises(ValueError, match="labels must be exactly"):
        counter.inc(colour="red")
    with pytest.raises(ValueError, match="cannot go down"):
        counter.inc(-1, kind="a")
    with pytest.raises(ValueError, match="registered twice"):
        registry.counter("things_total", "Again.")
    with pytest.raises(ValueError, match="not a valid metric name"):
        registry.gauge("2fast", "Bad name.")
