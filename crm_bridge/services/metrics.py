"""A small thread-safe metrics registry rendered in the Prometheus text exposition format (0.0.4),
and ``BridgeMetrics``: the metrics crm-bridge's daemon serves at ``/metrics``.

    metrics = BridgeMetrics()
    ctx = AdapterContext(..., on_request=metrics.on_request)     # CRM requests by status
    ctx = AdapterContext(..., on_quota=metrics.crm_quota)        # a CRM's daily quota, paused work
    sync(..., on_page=metrics.records_synced)                    # records synced
    JobRunner(name, fn, observer=metrics)                        # job durations, last success
    text = metrics.render()
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DEFAULT_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

LabelValues = tuple[str, ...]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str], extra: tuple[str, str] | None = None) -> str:
    pairs = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra is not None:
        pairs.append(f'{extra[0]}="{_escape_label(extra[1])}"')
    return "{" + ",".join(pairs) + "}" if pairs else ""


@dataclass
class _Metric:
    name: str
    help: str
    label_names: tuple[str, ...]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.label_names):
            raise ValueError(
                f"{self.name}: labels must be exactly {list(self.label_names)}, got {sorted(labels)}"
            )
        return tuple(str(labels[n]) for n in self.label_names)


@dataclass
class Counter(_Metric):
    """A value that only goes up (``_total`` is added to the name when missing)."""

    values: dict[LabelValues, float] = field(default_factory=dict)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot go down")
        key = self._key(labels)
        with self.lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self.lock:
            return self.values.get(self._key(labels), 0.0)

    def lines(self) -> list[str]:
        with self.lock:
            items = sorted(self.values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


@dataclass
class Gauge(_Metric):
    """A value that goes up and down, or is set (e.g. a Unix timestamp)."""

    values: dict[LabelValues, float] = field(default_factory=dict)

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self.lock:
            self.values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self.lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float | None:
        with self.lock:
            return self.values.get(self._key(labels))

    def lines(self) -> list[str]:
        with self.lock:
            items = sorted(self.values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


@dataclass
class Histogram(_Metric):
    """Observations counted into cumulative ``le`` buckets, with ``_sum`` and ``_count``."""

    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    series: dict[LabelValues, list[float]] = field(default_factory=dict)  # bucket counts..., sum, count

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self.lock:
            row = self.series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    row[i] += 1
            row[-2] += value
            row[-1] += 1

    def count(self, **labels: str) -> int:
        with self.lock:
            row = self.series.get(self._key(labels))
        return int(row[-1]) if row else 0

    def lines(self) -> list[str]:
        with self.lock:
            items = sorted((k, list(v)) for k, v in self.series.items())
        out: list[str] = []
        for key, row in items:
            for i, bound in enumerate(self.buckets):
                out.append(
                    f"{self.name}_bucket{_labels(self.label_names, key, ('le', _number(bound)))} "
                    f"{_number(row[i])}"
                )
            out.append(
                f"{self.name}_bucket{_labels(self.label_names, key, ('le', '+Inf'))} {_number(row[-1])}"
            )
            out.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(row[-2])}")
            out.append(f"{self.name}_count{_labels(self.label_names, key)} {_number(row[-1])}")
        return out


class MetricsRegistry:
    """Metrics by name; ``render()`` is the body of ``GET /metrics``. Safe to use from many threads."""

    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Gauge | Histogram] = {}
        self._lock = threading.Lock()

    def _add(self, metric: Counter | Gauge | Histogram) -> None:
        if not _NAME.match(metric.name):
            raise ValueError(f"{metric.name!r} is not a valid metric name")
        for label in metric.label_names:
            if not _LABEL.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"{metric.name}: {label!r} is not a valid label name")
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name} is registered twice")
            self._metrics[metric.name] = metric

    def counter(self, name: str, help: str, labels: Iterable[str] = ()) -> Counter:  # noqa: A002
        metric = Counter(name if name.endswith("_total") else f"{name}_total", help, tuple(labels))
        self._add(metric)
        return metric

    def gauge(self, name: str, help: str, labels: Iterable[str] = ()) -> Gauge:  # noqa: A002
        metric = Gauge(name, help, tuple(labels))
        self._add(metric)
        return metric

    def histogram(
        self,
        name: str,
        help: str,  # noqa: A002
        labels: Iterable[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        ordered = tuple(sorted(float(b) for b in buckets if not math.isinf(b)))
        if not ordered or len(set(ordered)) != len(ordered):
            raise ValueError(f"{name}: buckets must be distinct numbers")
        metric = Histogram(name, help, tuple(labels), buckets=ordered)
        self._add(metric)
        return metric

    def render(self) -> str:
        """Every metric in the text exposition format, one ``# HELP``/``# TYPE`` block each."""
        with self._lock:
            metrics = sorted(self._metrics.values(), key=lambda m: m.name)
        out: list[str] = []
        for metric in metrics:
            kind = {Counter: "counter", Gauge: "gauge", Histogram: "histogram"}[type(metric)]
            out.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
            out.append(f"# TYPE {metric.name} {kind}")
            out.extend(metric.lines())
        return "\n".join(out) + "\n"


class BridgeMetrics(MetricsRegistry):
    """The daemon's metrics. Its methods match the hooks the rest of crm-bridge calls:
    ``AdapterContext.on_request``, ``sync(on_page=)``, ``JobObserver.job_finished``."""

    def __init__(self) -> None:
        super().__init__()
        self.crm_requests = self.counter(
            "crm_bridge_crm_requests",
            "Requests sent to the CRM, by CRM and HTTP status (0 = no answer).",
            ("crm", "status"),
        )
        self.records_synced_total = self.counter(
            "crm_bridge_records_synced",
            "Records pulled from the CRM into the state store, by entity.",
            ("entity",),
        )
        self.leads_distributed_total = self.counter(
            "crm_bridge_leads_distributed",
            "Partner leads given a manager and a task, by manager.",
            ("manager",),
        )
        self.leads_refused_total = self.counter(
            "crm_bridge_leads_refused",
            "Partner lead assignments the CRM refused (retried next cycle).",
        )
        self.notifications_total = self.counter(
            "crm_bridge_notifications",
            "Notifications handled by the outbox, by channel and outcome (sent, retry, failed).",
            ("channel", "outcome"),
        )
        self.intake_auth_refused_total = self.counter(
            "crm_bridge_intake_auth_refused",
            "Intake requests refused for their API key, by outcome (unauthorized: 401 for a missing, "
            "unknown or wrong key; throttled: 429 after too many failed attempts).",
            ("outcome",),
        )
        self.job_runs = self.counter(
            "crm_bridge_job_runs", "Scheduled job runs, by job and outcome (ok, error).", ("job", "outcome")
        )
        self.job_duration = self.histogram(
            "crm_bridge_job_duration_seconds", "How long scheduled job runs took.", ("job",)
        )
        self.crm_daily_quota_remaining = self.gauge(
            "crm_bridge_crm_daily_quota_remaining",
            "Requests the CRM still allows today, as its last answer reported (CRMs with a daily quota).",
            ("crm",),
        )
        self.crm_daily_quota_limit = self.gauge(
            "crm_bridge_crm_daily_quota_limit", "The CRM's daily request quota, as it reports it.", ("crm",)
        )
        self.crm_paused = self.gauge(
            "crm_bridge_crm_paused",
            "1 while scheduled work on the CRM is paused, by reason (daily_quota: the daily quota is "
            "down to the reserve kept for people; work goes on when it resets), else 0.",
            ("crm", "reason"),
        )
        self.job_last_success = self.gauge(
            "crm_bridge_job_last_success_timestamp_seconds",
            "Unix time of each job's last successful run.",
            ("job",),
        )

    def on_request(self, crm: str, endpoint: str, status: int) -> None:
        """``AdapterContext.on_request``: one request sent (the endpoint is not a label: unbounded)."""
        self.crm_requests.inc(crm=crm, status=str(status))

    def crm_quota(self, crm: str, remaining: int, limit: int, paused: str) -> None:
        """``AdapterContext.on_quota``: the CRM's daily quota as its last answer reported it;
        ``paused`` names why scheduled work is paused ("" = it is not)."""
        self.crm_daily_quota_remaining.set(remaining, crm=crm)
        self.crm_daily_quota_limit.set(limit, crm=crm)
        self.crm_paused.set(1 if paused == "daily_quota" else 0, crm=crm, reason="daily_quota")

    def records_synced(self, entity: object, records: int) -> None:
        """``sync(on_page=...)``: a page of ``records`` of ``entity`` stored."""
        self.records_synced_total.inc(records, entity=str(getattr(entity, "value", entity)))

    def leads_distributed(self, manager: str, count: int = 1) -> None:
        self.leads_distributed_total.inc(count, manager=manager)

    def leads_refused(self, count: int = 1) -> None:
        self.leads_refused_total.inc(count)

    def notification(self, channel: str, outcome: str) -> None:
        self.notifications_total.inc(channel=channel, outcome=outcome)

    def intake_auth_refused(self, outcome: str) -> None:
        self.intake_auth_refused_total.inc(outcome=outcome)

    def job_finished(self, name: str, seconds: float, ok: bool, finished_at: float) -> None:
        """``JobObserver``: a job run ended."""
        self.job_runs.inc(job=name, outcome="ok" if ok else "error")
        self.job_duration.observe(seconds, job=name)
        if ok:
            self.job_last_success.set(finished_at, job=name)
