"""CRM adapters, one sub-package per CRM, each implementing the ports in ``crm_bridge.ports``.

An adapter is found through the entry-point group ``crm_bridge.adapters`` (name = ``crm.kind``,
value = a ``create_adapter(settings, ctx)`` factory), so a fourth CRM can ship as its own package.
"""
