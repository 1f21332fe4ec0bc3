"""The Bitrix24 emulator for ``crm-bridge sandbox``, the demo, tests and benchmarks: the wire
API as the CRM documents it, on crm_bridge.sandbox's shared server (latency, faults, request log).
Registered in the entry-point group ``crm_bridge.sandboxes`` as ``bitrix24``."""

from __future__ import annotations

from crm_bridge_bitrix24.sandbox.emulator import Bitrix24Emulator, create_emulator

__all__ = ["Bitrix24Emulator", "create_emulator"]
