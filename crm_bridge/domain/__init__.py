"""The pure domain core: partners, funnels, KPIs, tiers, distribution, rewards, provisioning plans.

Nothing here performs I/O or reads the clock: callers pass ``now`` in. An import-linter contract in
pyproject.toml keeps it that way.
"""
