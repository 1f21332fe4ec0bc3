"""The account's layout as provisioning sees it (the ``FunnelAdmin`` port): ``reader.LayoutReader``
reads the lead pipelines, statuses and custom fields; ``writer.LayoutWriter`` applies a provisioning
plan in as few array requests as the API allows, with ``fields.FieldWriter`` for custom fields and
enums; ``state.LayoutState`` is what the adapter remembers of the account's ids in the state store."""
