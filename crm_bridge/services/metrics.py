"""``BridgeMetrics``: the metrics crm-bridge's daemon serves at ``/metrics``, kept in a
``prometheus_client`` ``CollectorRegistry`` of its own (one per daemon / per test: nothing global).

    metrics = BridgeMetrics()
    ctx = AdapterContext(..., on_request=metrics.http_observer)  # CRM requests, retries, limiter waits
    ctx = AdapterContext(..., on_quota=metrics.crm_quota)        # a CRM's daily quota, paused work
    sync(..., on_page=metrics.records_synced)                    # records synced
    JobRunner(name, fn, observer=metrics)                        # job durations, last success
    body = metrics.render()                                      # Prometheus text exposition format
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from crm_bridge.ports import Entity

JOB_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# what ``generate_latest`` writes (newer clients call the same text "1.0.0" when names are UTF-8)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_VERSION = re.compile(r"^(api|rest)$", re.IGNORECASE)
# a resource or method name: letters, dots, dashes, underscores -- never a digit, so ids, versions,
# tokens and webhook secrets (which redaction may not know) never become a label value
_NAME = re.compile(r"^[A-Za-z][A-Za-z._-]{0,47}$")
_HEX_ID = re.compile(r"^[0-9a-f-]{6,}$", re.IGNORECASE)


def method_family(endpoint: str) -> str:
    """A bounded label for ``"METHOD /path"`` (the path itself is unbounded: ids, portals).

    RPC style (the last segment is a dotted method, ``crm.deal.list`` / ``crm.deal.list.json``): the
    method without its action (``crm.deal``). REST style: up to three resource segments after the API
    prefix, ids and versions dropped (``/api/v4/leads/123/notes`` -> ``leads/notes``). Only segments
    of letters count, so no id, token or secret can reach a label."""
    _method, _, path = endpoint.partition(" ")
    raw = path.split("?", 1)[0].split("/")
    segments = [s for s in raw if _NAME.match(s) and not _HEX_ID.match(s)]
    if not segments:
        return "other"
    last = segments[-1].removesuffix(".json")
    if "." in last:
        parts = last.split(".")
        return ".".join(parts[:-1]) if len(parts) > 1 else last
    resources = [s for s in segments if not _VERSION.match(s)]
    return "/".join(resources[:3]) or "other"


class HttpObserver:
    """What the HTTP layer reports (``ports.HttpObserver``): passed as ``AdapterContext.on_request``.
    Called with (crm, "METHOD path", status) after each attempt; ``retried``/``waited`` on retries
    and on client-side rate-limit waits."""

    def __init__(self, metrics: BridgeMetrics) -> None:
        self._metrics = metrics

    def __call__(self, crm: str, endpoint: str, status: int) -> None:
        self._metrics.on_request(crm, endpoint, status)

    def retried(self, crm: str, reason: str) -> None:
        self._metrics.crm_retries.labels(crm=crm, reason=reason).inc()

    def waited(self, crm: str, seconds: float) -> None:
        self._metrics.rate_limit_waits.labels(crm=crm).inc()
        self._metrics.rate_limit_wait_seconds.labels(crm=crm).inc(max(0.0, seconds))


class BridgeMetrics:
    """The daemon's metrics. Its methods match the hooks the rest of crm-bridge calls:
    ``AdapterContext.on_request`` (``http_observer``), ``sync(on_page=)``, ``JobObserver.job_finished``,
    the intake API's outcome hooks."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.crm_requests = Counter(
            "crm_bridge_crm_requests",
            "Requests sent to the CRM, by CRM, method family and HTTP status (0 = no answer).",
            ("crm", "family", "status"),
            registry=r,
        )
        self.crm_retries = Counter(
            "crm_bridge_crm_retries",
            "CRM requests sent again after a retriable failure, by CRM and reason (the status; "
            "0 = no answer).",
            ("crm", "reason"),
            registry=r,
        )
        self.rate_limit_waits = Counter(
            "crm_bridge_rate_limit_waits",
            "Times a CRM request waited for the client-side rate limiter, by CRM.",
            ("crm",),
            registry=r,
        )
        self.rate_limit_wait_seconds = Counter(
            "crm_bridge_rate_limit_wait_seconds",
            "Seconds CRM requests waited for the client-side rate limiter, by CRM.",
            ("crm",),
            registry=r,
        )
        self.records_synced_total = Counter(
            "crm_bridge_records_synced",
            "Records pulled from the CRM into the state store, by entity.",
            ("entity",),
            registry=r,
        )
        self.leads_distributed_total = Counter(
            "crm_bridge_leads_distributed",
            "Partner leads given a manager and a task, by manager.",
            ("manager",),
            registry=r,
        )
        self.leads_refused_total = Counter(
            "crm_bridge_leads_refused",
            "Partner lead assignments the CRM refused (retried next cycle).",
            registry=r,
        )
        self.tasks_created_total = Counter(
            "crm_bridge_tasks_created",
            "CRM tasks created, by kind (distribution: a manager's task for a new lead; escalation: "
            "a curator's task for a lead nobody touched in time).",
            ("kind",),
            registry=r,
        )
        self.notifications_total = Counter(
            "crm_bridge_notifications",
            "Notifications handled by the outbox, by channel and outcome (sent, retry, failed).",
            ("channel", "outcome"),
            registry=r,
        )
        self.intake_requests_total = Counter(
            "crm_bridge_intake_requests",
            "Partner lead intake requests answered, by outcome (created, existing, invalid, "
            "unauthorized, throttled, rate_limited, refused, unavailable, too_large, "
            "unsupported_media_type).",
            ("outcome",),
            registry=r,
        )
        self.intake_auth_refused_total = Counter(
            "crm_bridge_intake_auth_refused",
            "Intake requests refused for their API key, by outcome (unauthorized: 401 for a missing, "
            "unknown or wrong key; throttled: 429 after too many failed attempts).",
            ("outcome",),
            registry=r,
        )
        self.events_received_total = Counter(
            "crm_bridge_events_received",
            "Events the daemon's HTTP port received from outside (partner leads: intake; LMS course "
            "completions: training), by source.",
            ("source",),
            registry=r,
        )
        self.events_rejected_total = Counter(
            "crm_bridge_events_rejected",
            "Received events refused (bad key, bad body, flood, too large), by source and reason.",
            ("source", "reason"),
            registry=r,
        )
        self.crm_daily_quota_remaining = Gauge(
            "crm_bridge_crm_daily_quota_remaining",
            "Requests the CRM still allows today, as its last answer reported (CRMs with a daily quota).",
            ("crm",),
            registry=r,
        )
        self.crm_daily_quota_limit = Gauge(
            "crm_bridge_crm_daily_quota_limit",
            "The CRM's daily request quota, as it reports it.",
            ("crm",),
            registry=r,
        )
        self.crm_paused = Gauge(
            "crm_bridge_crm_paused",
            "1 while scheduled work on the CRM is paused, by reason (daily_quota: the daily quota is "
            "down to the reserve kept for people; work goes on when it resets), else 0.",
            ("crm", "reason"),
            registry=r,
        )
        self.job_runs = Counter(
            "crm_bridge_job_runs",
            "Scheduled job runs, by job and outcome (ok, error).",
            ("job", "outcome"),
            registry=r,
        )
        self.job_duration = Histogram(
            "crm_bridge_job_duration_seconds",
            "How long scheduled job runs took.",
            ("job",),
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.job_last_success = Gauge(
            "crm_bridge_job_last_success_timestamp_seconds",
            "Unix time of each job's last successful run.",
            ("job",),
            registry=r,
        )
        self.http_observer = HttpObserver(self)

    # -- reading (tests, the dashboard) -------------------------------------------------------------
    def value(self, name: str, **labels: str) -> float:
        """The current value of one sample (``crm_bridge_leads_refused_total``...), 0 when absent."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else float(found)

    def render(self) -> bytes:
        """Every metric in the Prometheus text exposition format (the body of ``GET /metrics``)."""
        return generate_latest(self.registry)

    # -- hooks -----------------------------------------------------------------------------------
    def on_request(self, crm: str, endpoint: str, status: int) -> None:
        """``AdapterContext.on_request``: one request sent (the family, not the endpoint: bounded)."""
        self.crm_requests.labels(crm=crm, family=method_family(endpoint), status=str(status)).inc()

    def crm_quota(self, crm: str, remaining: int, limit: int, paused: str) -> None:
        """``AdapterContext.on_quota``: the CRM's daily quota as its last answer reported it;
        ``paused`` names why scheduled work is paused ("" = it is not)."""
        self.crm_daily_quota_remaining.labels(crm=crm).set(remaining)
        self.crm_daily_quota_limit.labels(crm=crm).set(limit)
        self.crm_paused.labels(crm=crm, reason="daily_quota").set(1 if paused == "daily_quota" else 0)

    def records_synced(self, entity: Entity, records: int) -> None:
        """``sync(on_page=...)``: a page of ``records`` of ``entity`` stored (a StrEnum: its value)."""
        self.records_synced_total.labels(entity=str(entity)).inc(records)

    def leads_distributed(self, manager: str, count: int = 1) -> None:
        self.leads_distributed_total.labels(manager=manager).inc(count)

    def leads_refused(self, count: int = 1) -> None:
        self.leads_refused_total.inc(count)

    def tasks_created(self, kind: str, count: int) -> None:
        if count:
            self.tasks_created_total.labels(kind=kind).inc(count)

    def notification(self, channel: str, outcome: str) -> None:
        self.notifications_total.labels(channel=channel, outcome=outcome).inc()

    def intake_auth_refused(self, outcome: str) -> None:
        self.intake_auth_refused_total.labels(outcome=outcome).inc()

    def intake_answered(self, outcome: str) -> None:
        """One intake request answered (also counted as an event received, and rejected unless the
        lead was accepted or the failure was ours)."""
        self.intake_requests_total.labels(outcome=outcome).inc()
        self.events_received_total.labels(source="intake").inc()
        if outcome not in ("created", "existing", "unavailable"):
            self.events_rejected_total.labels(source="intake", reason=outcome).inc()

    def event_answered(self, source: str, outcome: str) -> None:
        """One event of another ``source`` (``training``: an LMS webhook) answered: received, and
        rejected with ``outcome`` as the reason unless it was ``accepted``."""
        self.events_received_total.labels(source=source).inc()
        if outcome != "accepted":
            self.events_rejected_total.labels(source=source, reason=outcome).inc()

    def crm_events_received(self, crm: str, count: int) -> None:
        """``count`` events a CRM pushed (or we pulled) were stored in the event queue."""
        self.events_received_total.labels(source=crm).inc(count)

    def crm_events_refused(self, crm: str, reason: str, count: int = 1) -> None:
        """A CRM event request was refused (signature, token, stale, account, malformed, too_large),
        or ``count`` events of an accepted one were redeliveries (``duplicate``: answered 200, not queued)."""
        self.events_rejected_total.labels(source=crm, reason=reason).inc(count)

    def job_finished(self, name: str, seconds: float, ok: bool, finished_at: float) -> None:
        """``JobObserver``: a job run ended."""
        self.job_runs.labels(job=name, outcome="ok" if ok else "error").inc()
        self.job_duration.labels(job=name).observe(seconds)
        if ok:
            self.job_last_success.labels(job=name).set(finished_at)
