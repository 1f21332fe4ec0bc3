"""The partner lifecycle of the handbook (issue 14), one module per use case: ``scorecard`` (6.1
selection), ``onboarding`` (5.1, 7.0.1 §1.3), ``plans`` (7.0.1 §1.2 individual plans), ``training``
(completions from CSV and LMS webhooks) and ``access`` (6.2 exclusive access by tier). ``cycle``
runs them in the daemon's ``lifecycle`` job. Every service works through the ports only."""
