"""The adapter toolkit: what every CRM adapter needs and no adapter should write again.

* ``toolkit.doctor`` — the doctor's layout lines: the partner funnels, their stages and the custom
  fields on the CRM against the configured layout.

An adapter imports from here and from ``crm_bridge.ports``, ``crm_bridge.plugin``, ``crm_bridge.http``
and ``crm_bridge.domain``; never from services, the CLI, the daemon or the store.
"""
