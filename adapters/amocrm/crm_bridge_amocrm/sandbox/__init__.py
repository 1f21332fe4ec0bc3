"""The amoCRM (Kommo) API v4 emulator for ``crm-bridge sandbox``, the demo, tests and benchmarks: the wire
API as the CRM documents it, on crm_bridge.sandbox's shared server (latency, faults, request log).
Registered in the entry-point group ``crm_bridge.sandboxes`` as ``amocrm``."""

from __future__ import annotations

from crm_bridge_amocrm.sandbox.emulator import AmoCrmEmulator, create_emulator

__all__ = ["AmoCrmEmulator", "create_emulator"]
