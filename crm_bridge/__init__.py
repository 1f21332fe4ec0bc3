"""crm-bridge: a partner-sales layer installed next to Bitrix24, amoCRM (Kommo) or HubSpot."""

__version__ = "0.1.0"
