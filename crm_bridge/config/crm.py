"""The ``crm`` section of the config: ``kind`` names an installed adapter, and ``crm.<kind>`` is that
adapter's own section, validated by the config model its ``AdapterSpec`` declares (crm_bridge.plugin).

The model the loader validates is built from the installed adapters (``crm_model``): one optional
field per adapter, so a mistyped key gets its key path and a did-you-mean like any other. The shared
pieces adapters build their sections from (rate limit, HTTP timeouts) live here. Secrets are
``SecretStr`` and come from the environment / ``.env`` through ``${VAR}``; they are never printed.
"""

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator


class Strict(BaseModel):
    # Built when first used: a config section's model is validated inside the whole ``crm`` model
    # (``crm_model``) and never on its own there, so building each one at import was wasted start-up.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def validated_default(**values: Any) -> Any:
    """A field default written as data (``http: HttpConfig = validated_default()``), validated like a
    value from the file when the default is used: an instance (``HttpConfig()``) would build that
    section's model at import, when it is otherwise only ever validated inside the enclosing one."""
    return Field(default=values, validate_default=True)


def url_default(url: str) -> Any:
    """A URL field's default written as text, validated like a value from the file when it is used:
    ``HttpUrl("...")`` at import builds pydantic's URL validator on its own (about 10 ms of every
    command's start-up) when the enclosing model's validator checks URLs anyway."""
    return Field(default=url, validate_default=True)


class RateLimitConfig(Strict):
    """The client-side limit: ``burst`` requests at once, then ``per_second`` sustained (a leaky bucket).
    An adapter whose CRM counts a rolling window reads the same two numbers as at most ``burst``
    requests in any ``burst / per_second`` seconds (its config comment says which it does)."""

    burst: int = Field(gt=0)
    per_second: float = Field(gt=0)


class HttpConfig(Strict):
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=6, ge=0, le=20)
    max_backoff: float = Field(default=60.0, gt=0)  # seconds, cap of one back-off wait


class CrmConfig(Strict):
    """``kind`` and the chosen adapter's section (``section``). The loader validates a subclass built
    by ``crm_model`` with one field per installed adapter."""

    kind: str

    @property
    def section(self) -> Any:
        """The validated ``crm.<kind>`` section (the adapter's own config model)."""
        return getattr(self, self.kind, None)


@cache
def crm_model(extra_section: str | None = None) -> type[CrmConfig]:
    """The ``crm`` model for the installed adapters. ``extra_section``: a kind with no adapter, whose
    section is accepted as is (``crm.kind`` already reports that it is not installed)."""
    from crm_bridge.plugin import installed_specs, missing_adapter

    specs = installed_specs()
    fields: dict[str, Any] = {name: (spec.config_model | None, None) for name, spec in specs.items()}
    if extra_section and extra_section not in specs:
        fields[extra_section] = (dict[str, Any] | None, None)

    def kind_installed(cls: type[CrmConfig], value: str) -> str:
        if value not in specs:
            raise ValueError(missing_adapter(value))
        return value

    def section_for_kind(self: CrmConfig) -> CrmConfig:
        if self.kind in specs and getattr(self, self.kind, None) is None:
            raise ValueError(f"crm.kind is {self.kind!r} but the crm.{self.kind} section is missing")
        return self

    validators: dict[str, Any] = {
        "kind_installed": field_validator("kind")(kind_installed),
        "section_for_kind": model_validator(mode="after")(section_for_kind),
    }
    model: type[CrmConfig] = create_model(
        "CrmConfig", __base__=CrmConfig, __validators__=validators, **fields
    )
    return model
