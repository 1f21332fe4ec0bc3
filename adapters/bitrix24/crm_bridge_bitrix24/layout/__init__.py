"""The portal's layout as provisioning sees it (the ``FunnelAdmin`` port): ``reader.LayoutReader`` reads
our deal funnels, stages and user fields; ``writer.LayoutWriter`` applies a provisioning plan in batch
rounds, with ``fields`` building the user-field payloads and ``crm_bridge_bitrix24.stages`` deciding
which stages Bitrix24 made for a new funnel become ours."""
