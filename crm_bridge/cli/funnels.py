"""``crm-bridge funnels``: the funnels, stages and custom fields provisioning would create."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from crm_bridge.cli.output import CliContext
from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.domain.model import StageKind

_HEADERS = {
    "ru": ("№", "ключ", "этап", "тип", "цвет", "поле", "запись", "тип поля", "значения"),
    "en": ("#", "key", "stage", "kind", "colour", "field", "record", "type", "options"),
}
_KINDS = {
    "ru": {StageKind.OPEN: "в работе", StageKind.WON: "успех", StageKind.LOST: "провал"},
    "en": {StageKind.OPEN: "open", StageKind.WON: "won", StageKind.LOST: "lost"},
}
_FIELDS_TITLE = {"ru": "Пользовательские поля", "en": "Custom fields"}


def render(layout: DesiredLayout, locale: str) -> list[Table]:
    """One table per funnel (stages in order) and one for the custom fields."""
    number, key, stage, kind, colour, field, record, field_type, options = _HEADERS[locale]
    tables: list[Table] = []
    for funnel in sorted(layout.funnels, key=lambda f: f.sort):
        table = Table(title=f"{funnel.name} ({funnel.key})", title_justify="left")
        for header in (number, key, stage, kind, colour):
            table.add_column(header)
        for position, item in enumerate(sorted(funnel.stages, key=lambda s: s.sort), start=1):
            swatch = Text(f"■ {item.color}", style=item.color) if item.color else Text("-")
            table.add_row(str(position), item.key, item.name, _KINDS[locale][item.kind], swatch)
        tables.append(table)
    fields = Table(title=_FIELDS_TITLE[locale], title_justify="left")
    for header in (field, key, record, field_type, options):
        fields.add_column(header, overflow="fold")
    for custom in layout.fields:
        values = ", ".join(f"{o.key} ({o.label})" for o in custom.options)
        fields.add_row(custom.label, custom.key, custom.entity.value, custom.type.value, values or "-")
    tables.append(fields)
    return tables


@click.command("funnels")
@click.option(
    "--locale",
    type=click.Choice(["ru", "en"]),
    default=None,
    help="Language of the names (default: locale in the config).",
)
@click.pass_obj
def command(obj: CliContext, locale: str | None) -> None:
    """Print the funnels and stages (and custom fields) that provisioning would create, after the
    config's changes to the defaults. Reads nothing from the CRM."""
    settings = obj.settings()  # first: it imports the config's models with the collector paused
    from crm_bridge.config.funnels import desired_layout_for

    chosen = locale or settings.locale
    for table in render(desired_layout_for(settings, chosen), chosen):
        obj.console.print(table)
