"""Partner-lead intake, one use case for every path a lead comes in (CSV import, the HTTP API, the
partner portal, the bot): ``service.IntakeService`` registers leads (channel conflict) and queues them;
``write.LeadWrites`` creates them in the CRM exactly once; ``fields`` checks one lead's fields;
``csv_file`` reads Excel's CSV exports and writes the rejects file; ``csv_import`` is
``crm-bridge intake import``; ``api`` the ``POST /v1/leads`` use case with ``keys`` (partner API keys)
and ``throttle`` (failed-key attempts); ``registrations`` keeps registrations current (expiry)."""
