"""Benchmark (not a test): KPIs and funnel conversion over 100k partner leads on one core.

Run: ``.venv/bin/python benchmarks/bench_kpis.py [leads]``; prints the best of 5 timings.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from crm_bridge.domain.kpis import compute_kpis, funnel_conversion
from crm_bridge.domain.model import Deal, Lead, Partner, StageKind
from crm_bridge.domain.period import Period

STAGES = ["lead_registered", "qualification", "offer"]
OUTCOMES = [
    ("lead_registered", StageKind.OPEN),
    ("qualification", StageKind.OPEN),
    ("offer", StageKind.OPEN),
    ("deal_closed", StageKind.WON),
    ("lead_lost", StageKind.LOST),
]


def make(n: int, partners: int = 2000) -> tuple[list[Lead], list[Deal], list[Partner]]:
    rng = random.Random(42)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    leads = []
    for i in range(n):
        created = base + timedelta(minutes=rng.randrange(365 * 24 * 60))
        stage, kind = rng.choice(OUTCOMES)
        leads.append(
            Lead(
                str(i),
                f"p{rng.randrange(partners)}",
                f"lead {i}",
                stage,
                kind,
                created,
                amount=Decimal(rng.randrange(1000, 500000)) / 100,
                first_touch_at=created + timedelta(minutes=rng.randrange(1, 600))
                if rng.random() < 0.8
                else None,
                closed_at=created + timedelta(days=rng.randrange(60)) if kind is not StageKind.OPEN else None,
                furthest_stage=rng.choice(STAGES) if kind is StageKind.LOST else None,
            )
        )
    deals = [
        Deal(
            f"d{i}",
            f"p{rng.randrange(partners)}",
            "repeat",
            "repeat",
            "repeat_won",
            StageKind.WON,
            Decimal(rng.randrange(1000, 90000)),
            base,
            closed_at=base + timedelta(days=rng.randrange(365)),
            repeat=True,
        )
        for i in range(n // 10)
    ]
    people = [
        Partner(f"p{i}", f"Partner {i}", partner_since=base + timedelta(days=i % 365))
        for i in range(partners)
    ]
    return leads, deals, people


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    leads, deals, partners = make(n)
    period = Period.parse("2026")
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        report = compute_kpis(period, leads, deals, partners, lead_stages=STAGES)
        funnel_conversion(leads, STAGES, "deal_closed", period)
        timings.append(time.perf_counter() - started)
    dept = report.department
    print(
        f"{n} leads, {len(deals)} deals, {len(partners)} partners: best {min(timings):.3f} s, "
        f"worst {max(timings):.3f} s (compute_kpis + funnel_conversion)"
    )
    print(f"leads={dept.leads} won={dept.won} revenue={dept.revenue} conversion={dept.conversion}%")


if __name__ == "__main__":
    main()
