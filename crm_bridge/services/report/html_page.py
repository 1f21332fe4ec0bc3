"""The KPI report as one self-contained HTML page: tables plus matplotlib charts inlined as SVG (Agg
backend, no files beside it, no scripts, no server) — it opens from disk in any browser or mail client."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from crm_bridge.services.report.data import ReportData, TierMove, active_rows, move_text  # noqa: E402
from crm_bridge.services.report.text import (  # noqa: E402
    currency_sign,
    day,
    labels,
    money_unit,
    number,
    partner_type,
)

_CSS = """
body{font-family:system-ui,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}th{background:#f4f6f8}
td.l,th.l{text-align:left}.met{color:#1a7f37}.miss{color:#b42318}figure{margin:1rem 0}
.up{color:#1a7f37}.down{color:#b42318}.notes{font-size:.85rem;color:#555;max-width:60rem}
"""


_NNBSP = "\u202f"  # between thousands: never broken across lines


def _money(value: Decimal | None, locale: str) -> str:
    return number(value, locale, group=_NNBSP)


def _pct(value: Decimal | None, locale: str) -> str:
    return "-" if value is None else f"{number(value, locale, 1, _NNBSP)}\u00a0%"


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "crm-bridge"}):  # text stays text
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue and doctype: inline SVG


def _money_axis(ax: Any, largest: float, data: ReportData) -> str:
    """Money on the x axis in a readable unit (``млн ₽``, no ``1e6``); returns the unit's label."""
    divisor, unit = money_unit(largest, data.currency, data.locale)
    places = 1 if divisor >= 10**6 else 0
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda x, _: number(x / float(divisor), data.locale, places, _NNBSP))
    )
    ax.set_xlabel(unit)
    return unit


def funnel_chart(data: ReportData) -> str:
    t = labels(data.locale)
    names = [data.stage_names.get(s.stage, s.stage) for s in data.funnel]
    values = [s.reached for s in data.funnel]
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.55 * len(names)))
    bars = ax.barh(names[::-1], values[::-1], color="#39A8EF")
    ax.bar_label(bars, padding=3)
    ax.set_title(t["funnel_chart"])
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def revenue_chart(data: ReportData) -> str:
    t = labels(data.locale)
    rows = [r for r in active_rows(data) if r.kpis.revenue > 0][:15]
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.4 * max(1, len(rows))))
    names = [r.partner.name for r in rows][::-1]
    revenues = [float(r.kpis.revenue) for r in rows][::-1]
    ax.barh(names, revenues, color="#FFA900", label=t["revenue"])
    plans = [next((g.plan for g in r.goals if g.target == "revenue"), None) for r in rows][::-1]
    marks = [(i, float(p)) for i, p in enumerate(plans) if p is not None]
    if marks:
        ax.scatter(
            [p for _, p in marks], [i for i, _ in marks], marker="|", s=300, color="#222", label=t["plan"]
        )
        ax.legend(loc="lower right")
    unit = _money_axis(ax, max([*revenues, *(p for _, p in marks)], default=0.0), data)
    ax.set_title(f"{t['revenue_chart']}, {unit}")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def plan_chart(data: ReportData) -> str | None:
    t = labels(data.locale)
    goals = [g for g in data.department_goals if g.fulfilment is not None]
    if not goals:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.5 * len(goals)))
    values = [float(g.fulfilment or 0) for g in goals]
    colours = ["#1a7f37" if g.met else "#b42318" for g in goals]
    ax.barh([t.get(g.target, g.target) for g in goals], values, color=colours)
    ax.axvline(100, color="#222", linewidth=1)
    ax.set_title(t["plan_chart"])
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


def _goal_cell(goals: Sequence[object], target: str, locale: str) -> str:
    for g in goals:
        if getattr(g, "target", None) == target:
            css = "met" if getattr(g, "met", False) else "miss"
            return f'<span class="{css}">{_pct(getattr(g, "fulfilment", None), locale)}</span>'
    return "-"


def _moves(data: ReportData, moves: Sequence[TierMove]) -> str:
    if not moves:
        return "-"
    return ", ".join(
        f'<span class="{"up" if m.up else "down"}">{html.escape(move_text(data, [m]))}</span>' for m in moves
    )


def render_html(data: ReportData) -> str:
    """The report page (UTF-8 text), every word in the config's locale. Partner and stage names come
    from the CRM: charts draw them as plain text (a ``$`` pair would be parsed as mathtext, which can
    fail the whole report)."""
    with matplotlib.rc_context({"text.parse_math": False}):
        return _render_html(data)


def _render_html(data: ReportData) -> str:
    t = labels(data.locale)
    loc = data.locale
    e = html.escape
    d = data.department
    sign = currency_sign(data.currency)

    def money(value: Decimal | None) -> str:
        return _money(value, loc)

    dept = _table(
        [t["kpi"], t["value"]],
        [
            (e(t["partners_kpi"]), f"{d.partners} ({d.active_partners} / {d.new_partners})"),
            (e(t["leads_qualified"]), f"{d.leads} / {d.qualified}"),
            (e(t["won_repeat"]), f"{d.won} / {d.repeat_won}"),
            (e(t["conversion"]), _pct(d.conversion, loc)),
            (e(t["repeat_share"]), _pct(d.repeat_share, loc)),
            (f"{e(t['revenue'])}, {e(sign)}", money(d.revenue)),
        ],
    )
    plan = _table(
        [t["target"], t["plan"], t["actual"], t["pct"]],
        [
            (e(t.get(g.target, g.target)), money(g.plan), money(g.actual), _goal_cell([g], g.target, loc))
            for g in data.department_goals
        ],
    )
    partners = _table(
        [
            t["partner"],
            t["type"],
            data.tier_words[0],
            t["tier_change"],
            t["curator"],
            t["leads_short"],
            t["qualified_short"],
            t["won_short"],
            t["conversion_short"],
            f"{t['revenue']}, {sign}",
            t["plan_pct"],
        ],
        [
            (
                e(r.partner.name),
                e(partner_type(r.partner.type.value if r.partner.type else None, loc)),
                e(data.tier_names.get(r.tier or "", r.tier or "-")),
                _moves(data, r.moves),
                e(r.curator or "-"),
                str(r.kpis.leads),
                str(r.kpis.qualified),
                str(r.kpis.won),
                _pct(r.kpis.conversion, loc),
                money(r.kpis.revenue),
                _goal_cell(r.goals, "revenue", loc),
            )
            for r in active_rows(data)
        ],
        left=5,
    )
    funnel = _table(
        [t["stage"], t["reached"], t["of_first"], t["of_previous"]],
        [
            (
                e(data.stage_names.get(s.stage, s.stage)),
                str(s.reached),
                _pct(s.of_first, loc),
                _pct(s.of_previous, loc),
            )
            for s in data.funnel
        ],
    )
    board = _table(
        [t["rank"], t["partner"], t["points"], t["won_deals"], f"{t['revenue']}, {sign}"],
        [
            (str(r.rank), e(r.name), str(r.points), str(r.won_deals), money(r.revenue))
            for r in data.leaderboard[:20]
        ],
        left=2,
    )
    moves = _table(
        [t["when"], t["partner"], t["change"], t["why"]],
        [
            (
                e(day(m.at.astimezone(data.last_day.tzinfo), loc)),
                e(m.partner_name),
                _moves(data, [m]),
                e(m.reason),
            )
            for m in data.tier_moves
        ],
        left=4,
    )
    plan_svg = plan_chart(data)
    generated = data.generated_local
    parts = [
        f"<h1>{e(t['title'])}: {e(data.period.key)}</h1>",
        f"<p>{e(t['generated'])}: {e(day(generated, loc))} {generated:%H:%M} ({e(data.timezone)})</p>",
        f"<h2>{e(t['dept'])}</h2>{dept}",
    ]
    if data.department_goals:
        parts.append(f"<h2>{e(t['plan_section'])}</h2>{plan}")
    if plan_svg:
        parts.append(f'<figure class="chart">{plan_svg}</figure>')
    parts += [
        f"<h2>{e(t['funnel'])}</h2>{funnel}",
        f'<figure class="chart">{funnel_chart(data)}</figure>',
        f"<h2>{e(t['partners'])}</h2>",
        f'<figure class="chart">{revenue_chart(data)}</figure>',
        partners,
        f'<p class="notes">{e(data.tier_words[1])}</p>',
        f'<p class="notes">{e(t["note_won"])}</p>',
    ]
    parts.append(f"<h2>{e(t['tier_changes'])}</h2>")
    parts.append(moves if data.tier_moves else f"<p>{e(t['no_tier_changes'])}</p>")
    parts.append(f"<h2>{e(t['board'])}</h2>{board}")
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="{e(loc)}"><head><meta charset="utf-8">'
        f"<title>{e(t['title'])} {e(data.period.key)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
