"""``crm-bridge demo``: ``run.run_demo`` provisions a CRM sandbox, seeds the demo network
(``crm_bridge.demo_network``) and runs the real jobs; ``config_file`` is the config it writes and runs
with; ``lifecycle`` its partner-lifecycle part (scorecard, onboarding, training, plans, access)."""
