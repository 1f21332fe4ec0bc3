"""crm-bridge's HubSpot plugin. Today it ships the CRM v3 emulator (``crm_bridge_hubspot.sandbox``),
registered in ``crm_bridge.sandboxes``; the adapter registers in ``crm_bridge.adapters`` once it is built."""
