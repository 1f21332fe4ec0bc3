"""The KPI report as one self-contained HTML page: tables plus matplotlib charts inlined as SVG (Agg
backend, no files beside it, no scripts, no server) — it opens from disk in any browser or mail client."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first
from matplotlib.figure import Figure  # noqa: E402

from crm_bridge.services.report_data import ReportData, active_rows  # noqa: E402

_T = {
    "en": {
        "title": "Partner sales report",
        "dept": "Department KPIs",
        "plan": "Plan vs actual",
        "partners": "Partners",
        "funnel": "Lead funnel conversion",
        "board": "Leaderboard",
        "revenue_chart": "Revenue by partner (top 15)",
        "funnel_chart": "Leads reaching each stage",
        "plan_chart": "Plan fulfilment, %",
        "generated": "Generated",
    },
    "ru": {
        "title": "Отчёт по партнёрским продажам",
        "dept": "KPI отдела",
        "plan": "План и факт",
        "partners": "Партнёры",
        "funnel": "Конверсия воронки лидов",
        "board": "Рейтинг партнёров",
        "revenue_chart": "Выручка по партнёрам (топ-15)",
        "funnel_chart": "Сколько лидов дошло до этапа",
        "plan_chart": "Выполнение плана, %",
        "generated": "Сформирован",
    },
}

_CSS = """
body{font-family:system-ui,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}th{background:#f4f6f8}
td.l,th.l{text-align:left}.met{color:#1a7f37}.miss{color:#b42318}figure{margin:1rem 0}
"""


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.0f}".replace(",", "\u202f")


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "crm-bridge"}):  # text stays text
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue and doctype: inline SVG


def funnel_chart(data: ReportData) -> str:
    labels = [data.stage_names.get(s.stage, s.stage) for s in data.funnel]
    values = [s.reached for s in data.funnel]
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.55 * len(labels)))
    bars = ax.barh(labels[::-1], values[::-1], color="#39A8EF")
    ax.bar_label(bars, padding=3)
    ax.set_title(_T[data.locale]["funnel_chart"])
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def revenue_chart(data: ReportData) -> str:
    rows = [r for r in active_rows(data) if r.kpis.revenue > 0][:15]
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.4 * max(1, len(rows))))
    names = [r.partner.name for r in rows][::-1]
    ax.barh(names, [float(r.kpis.revenue) for r in rows][::-1], color="#FFA900", label="revenue")
    plans = [next((g.plan for g in r.goals if g.target == "revenue"), None) for r in rows][::-1]
    marks = [(i, float(p)) for i, p in enumerate(plans) if p is not None]
    if marks:
        ax.scatter(
            [p for _, p in marks], [i for i, _ in marks], marker="|", s=300, color="#222", label="plan"
        )
        ax.legend(loc="lower right")
    ax.set_title(f"{_T[data.locale]['revenue_chart']}, {data.currency}")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def plan_chart(data: ReportData) -> str | None:
    goals = [g for g in data.department_goals if g.fulfilment is not None]
    if not goals:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.5 * len(goals)))
    values = [float(g.fulfilment or 0) for g in goals]
    colours = ["#1a7f37" if g.met else "#b42318" for g in goals]
    ax.barh([g.target for g in goals], values, color=colours)
    ax.axvline(100, color="#222", linewidth=1)
    ax.set_title(_T[data.locale]["plan_chart"])
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    head = "".join(f'<th class="l">{html.escape(h)}</th>' if i < left else f"<th>{html.escape(h)}</th>"
                   for i, h in enumerate(headers))  # fmt: skip
    body = "".join(
        "<tr>"
        + "".join(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _goal_cell(goals: Sequence[object], target: str) -> str:
    for g in goals:
        if getattr(g, "target", None) == target:
            css = "met" if getattr(g, "met", False) else "miss"
            return f'<span class="{css}">{_pct(getattr(g, "fulfilment", None))}</span>'
    return "-"


def render_html(data: ReportData) -> str:
    """The report page (UTF-8 text). Partner and stage names come from the CRM: charts draw them as
    plain text (a ``$`` pair would be parsed as mathtext, which can fail the whole report)."""
    with matplotlib.rc_context({"text.parse_math": False}):
        return _render_html(data)


def _render_html(data: ReportData) -> str:
    t = _T.get(data.locale, _T["en"])
    e = html.escape
    d = data.department
    dept = _table(
        ["KPI", ""],
        [
            ("partners / active / new", f"{d.partners} / {d.active_partners} / {d.new_partners}"),
            ("leads / qualified", f"{d.leads} / {d.qualified}"),
            ("won deals / repeat", f"{d.won} / {d.repeat_won}"),
            ("conversion", _pct(d.conversion)),
            ("repeat share", _pct(d.repeat_share)),
            (f"revenue, {e(data.currency)}", _money(d.revenue)),
        ],
    )
    plan = _table(
        ["target", "plan", "actual", "%"],
        [
            (e(g.target), _money(g.plan), _money(g.actual), _goal_cell([g], g.target))
            for g in data.department_goals
        ],
    )
    partners = _table(
        [
            "partner",
            "type",
            "tier",
            "curator",
            "leads",
            "qualified",
            "won",
            "conversion",
            "revenue",
            "plan %",
        ],
        [
            (
                e(r.partner.name),
                e(r.partner.type.value if r.partner.type else "-"),
                e(data.tier_names.get(r.tier or "", r.tier or "-")),
                e(r.curator or "-"),
                str(r.kpis.leads),
                str(r.kpis.qualified),
                str(r.kpis.won),
                _pct(r.kpis.conversion),
                _money(r.kpis.revenue),
                _goal_cell(r.goals, "revenue"),
            )
            for r in active_rows(data)
        ],
        left=4,
    )
    funnel = _table(
        ["stage", "reached", "% of first", "% of previous"],
        [
            (e(data.stage_names.get(s.stage, s.stage)), str(s.reached), _pct(s.of_first), _pct(s.of_previous))
            for s in data.funnel
        ],
    )
    board = _table(
        ["#", "partner", "points", "won", "revenue"],
        [
            (str(r.rank), e(r.name), str(r.points), str(r.won_deals), _money(r.revenue))
            for r in data.leaderboard[:20]
        ],
        left=2,
    )
    plan_svg = plan_chart(data)
    parts = [
        f"<h1>{e(t['title'])}: {e(data.period.key)}</h1>",
        f"<p>{e(t['generated'])}: {data.generated_at:%Y-%m-%d %H:%M} UTC</p>",
        f"<h2>{e(t['dept'])}</h2>{dept}",
    ]
    if data.department_goals:
        parts.append(f"<h2>{e(t['plan'])}</h2>{plan}")
    if plan_svg:
        parts.append(f'<figure class="chart">{plan_svg}</figure>')
    parts += [
        f"<h2>{e(t['funnel'])}</h2>{funnel}",
        f'<figure class="chart">{funnel_chart(data)}</figure>',
        f"<h2>{e(t['partners'])}</h2>",
        f'<figure class="chart">{revenue_chart(data)}</figure>',
        partners,
        f"<h2>{e(t['board'])}</h2>{board}",
    ]
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="{e(data.locale)}"><head><meta charset="utf-8">'
        f"<title>{e(t['title'])} {e(data.period.key)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
