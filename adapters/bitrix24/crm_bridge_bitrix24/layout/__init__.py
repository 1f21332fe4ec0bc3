"""The portal's layout as provisioning sees it (the ``FunnelAdmin`` port): ``reader.LayoutReader`` reads
our deal funnels, stages and user fields, with ``stage_counts`` counting the records of stages ``provision
--prune`` may delete; ``writer.LayoutWriter`` applies a provisioning plan in batch rounds, with
``fields`` building the user-field payloads and ``stages`` deciding which ``crm.status.*`` calls give a
funnel its stages (reusing those Bitrix24 makes for a new funnel)."""
