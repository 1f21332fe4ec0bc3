"""Use cases of crm-bridge: each module is one job (provision, sync, intake, distribute, tiers…) that
wires the pure domain to a CRM port and the state store; the CLI, scripts and the daemon call them alike.

Services never import APScheduler, click or a concrete adapter: they take an adapter satisfying
``crm_bridge.ports`` and a ``crm_bridge.store.Store``, and ``now`` (or a clock) is passed in.
"""
