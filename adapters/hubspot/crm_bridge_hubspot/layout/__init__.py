"""The account's layout as provisioning sees it (the ``FunnelAdmin`` port): ``reader.LayoutReader``
reads deal pipelines, stages and crm-bridge's properties; ``writer.LayoutWriter`` applies a provisioning
plan; ``state.HubSpotLayout`` keeps, beside the toolkit's layout state, each stage's configured colour
(HubSpot stages have none)."""
