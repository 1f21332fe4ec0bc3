"""The KPI report as one tidy CSV for BI tools: one value per row.

Columns: ``period, section, entity_id, entity, metric, value, plan, fulfilment_percent``.
Sections: ``department`` (entity_id empty), ``partner`` (the partner company's CRM id), ``funnel``
(entity_id = stage key; metrics ``reached``, ``percent_of_first``, ``percent_of_previous``),
``leaderboard`` (metrics ``rank``, ``points``). ``plan``/``fulfilment_percent`` are filled on rows
that have a goal for the period. Numbers use a dot as decimal separator; UTF-8 without BOM.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal

from crm_bridge.domain.goals import GoalProgress
from crm_bridge.security.csv_cells import SafeWriter
from crm_bridge.services.report.data import ReportData

COLUMNS = ("period", "section", "entity_id", "entity", "metric", "value", "plan", "fulfilment_percent")


def _num(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")).normalize(), "f")
    return str(value)


def _rows(
    period: str,
    section: str,
    entity_id: str,
    entity: str,
    metrics: Iterable[tuple[str, Decimal | int | None]],
    goals: Iterable[GoalProgress],
) -> list[list[str]]:
    by_metric = {g.target: g for g in goals}  # goal targets are named like the metrics
    out = []
    for name, value in metrics:
        goal = by_metric.pop(name, None)
        plan = _num(goal.plan) if goal else ""
        done = _num(goal.fulfilment) if goal else ""
        out.append([period, section, entity_id, entity, name, _num(value), plan, done])
    for name, goal in by_metric.items():  # a goal on a metric not listed above
        out.append(
            [
                period,
                section,
                entity_id,
                entity,
                name,
                _num(goal.actual),
                _num(goal.plan),
                _num(goal.fulfilment),
            ]
        )
    return out


def report_csv(data: ReportData) -> str:
    """The whole report as CSV text (see the module docstring for the layout)."""
    key = data.period.key
    d = data.department
    rows: list[list[str]] = []
    rows += _rows(
        key,
        "department",
        "",
        "department",
        [
            ("partners", d.partners),
            ("active_partners", d.active_partners),
            ("new_partners", d.new_partners),
            ("trained_partners", d.trained_partners),
            ("leads", d.leads),
            ("qualified_leads", d.qualified),
            ("won_deals", d.won),
            ("repeat_won_deals", d.repeat_won),
            ("revenue", d.revenue),
            ("conversion", d.conversion),
            ("repeat_share", d.repeat_share),
        ],
        data.department_goals,
    )
    for r in data.partners:
        k = r.kpis
        rows += _rows(
            key,
            "partner",
            r.partner.crm_id,
            r.partner.name,
            [
                ("leads", k.leads),
                ("qualified_leads", k.qualified),
                ("won_deals", k.won),
                ("revenue", k.revenue),
                ("conversion", k.conversion),
                ("average_deal", k.average_deal),
            ],
            r.goals,
        )
    for stage in data.funnel:
        name = data.stage_names.get(stage.stage, stage.stage)
        for metric, value in (
            ("reached", stage.reached),
            ("percent_of_first", stage.of_first),
            ("percent_of_previous", stage.of_previous),
        ):
            rows.append([key, "funnel", stage.stage, name, metric, _num(value), "", ""])
    for lb in data.leaderboard:
        rows.append([key, "leaderboard", lb.partner_id, lb.name, "rank", str(lb.rank), "", ""])
        rows.append([key, "leaderboard", lb.partner_id, lb.name, "points", str(lb.points), "", ""])
    buf = io.StringIO()
    writer = SafeWriter(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buf.getvalue()
