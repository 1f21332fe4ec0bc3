"""crm-bridge's amoCRM (Kommo) plugin. Today it ships the API v4 emulator (``crm_bridge_amocrm.sandbox``),
registered in ``crm_bridge.sandboxes``; the adapter registers in ``crm_bridge.adapters`` once it is built."""
