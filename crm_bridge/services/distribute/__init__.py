"""Lead distribution: ``service.Distributor`` gives each new partner lead a manager by the configured
strategy and a CRM task due by the SLA (the team and settings read from the config by
``settings.team_from_settings`` / ``settings.settings_from``); ``result`` is what one run did
(``DistributeResult``) and the error for assignments the CRM refused; ``escalate.Escalator`` escalates,
once, a lead still untouched when its SLA has run out. Working hours and deadlines: ``services.sla``."""
