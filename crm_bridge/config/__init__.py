"""crm-bridge configuration: a YAML file plus ``.env`` and environment variables, validated into one
frozen ``Settings``. ``load_settings(path)`` raises ``ConfigError`` listing every problem by key path.

Modules: ``source`` (YAML, .env, ${VAR}), ``problems`` (messages), ``references`` (cross-section
checks), and one module per group of sections (``people``, ``programme``, ``ops``, ``funnels``,
``lifecycle``, ``bot``, ``crm``: the ``crm`` section, built from the installed adapters, and the
pieces adapters build their own sections from).
"""

from crm_bridge.config.settings import Settings, load_settings, parse_settings

__all__ = ["Settings", "load_settings", "parse_settings"]
