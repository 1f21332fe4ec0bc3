"""crm-bridge configuration: a YAML file plus ``.env`` and environment variables, validated into one
frozen ``Settings``. ``load_settings(path)`` raises ``ConfigError`` listing every problem by key path.

Modules: ``source`` (YAML, .env, ${VAR}), ``problems`` (messages), ``references`` (cross-section
checks), and one module per group of sections (``people``, ``programme``, ``ops``, ``funnels``);
the ``crm`` section lives in ``crm_bridge.config_crm``.
"""

from crm_bridge.config.settings import Settings, load_settings, parse_settings

__all__ = ["Settings", "load_settings", "parse_settings"]
