"""The HubSpot CRM v3 emulator for ``crm-bridge sandbox``, the demo, tests and benchmarks: the wire
API as the CRM documents it, on crm_bridge.sandbox's shared server (latency, faults, request log).
Registered in the entry-point group ``crm_bridge.sandboxes`` as ``hubspot``."""

from __future__ import annotations

from crm_bridge_hubspot.sandbox.emulator import HubSpotEmulator, create_emulator

__all__ = ["HubSpotEmulator", "create_emulator"]
