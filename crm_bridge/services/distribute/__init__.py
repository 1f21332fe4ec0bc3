"""Lead distribution: ``service.Distributor`` gives each new partner lead a manager by the configured
strategy, a CRM task due by the SLA, and escalates it once when the SLA runs out (the team and settings
read from the config by ``service.team_from_settings`` / ``service.settings_from``); ``result`` is what
one run did (``DistributeResult``) and the error for assignments the CRM refused."""
