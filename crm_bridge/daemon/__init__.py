"""The ``crm-bridge run`` daemon: a scheduler running the service jobs and one HTTP port serving the
partner intake endpoint, ``/healthz``, ``/metrics`` and ``/openapi.json``."""
