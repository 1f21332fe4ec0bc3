"""The adapter toolkit: what every CRM adapter needs and no adapter should write again.

* ``toolkit.recognition`` — re-finding crm-bridge's own funnels, stages and fields on a first run (or
  after the state store was lost): by the configured names, the mapping's codes, or the marker
  (``crm_bridge.<key>``) given to the fields crm-bridge creates.
* ``toolkit.catalog`` — the translation tables records need (funnel ids, stage codes, field codes and
  option ids), built from an observation and kept in the state store; generic over the CRM's id type.
* ``toolkit.layout_state`` — which CRM funnel is which of ours and which ones crm-bridge created.
* ``toolkit.exactly_once`` — creation of records with no idempotency key of their own (tasks, notes):
  pending before the request, the CRM's id after it, a lookup only for what a crash left pending.
* ``toolkit.doctor`` — the doctor's layout lines: the funnels, stages and fields against the config.

Also for adapters, elsewhere in the core: ``crm_bridge.plugin`` (the ``AdapterSpec`` declaration,
``Capabilities``, ``merged_mapping`` for the config's mapping override), ``crm_bridge.http`` (the one
HTTP layer: session, timeouts, retries honouring Retry-After, rate limits kept in the store, redaction)
and ``crm_bridge.sandbox`` (the emulators' shared server, faults, request log and event delivery).

An adapter imports from here and from ``crm_bridge.ports``, ``crm_bridge.plugin``, ``crm_bridge.http``,
``crm_bridge.config.crm`` and ``crm_bridge.domain``; never from services, the CLI, the daemon or the store.
"""
