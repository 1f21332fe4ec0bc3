"""The distribution strategy names are the domain's (``domain.distribution.StrategyName``): the config
accepts exactly those, and each one it accepts builds a policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_bridge.config.people import DistributionConfig
from crm_bridge.domain.distribution import FALLBACKS, STRATEGIES, DistributionPolicy


def test_the_config_accepts_exactly_the_strategy_names_the_domain_knows() -> None:
    for name in STRATEGIES:
        assert (
            DistributionPolicy(
                strategy=DistributionConfig.model_validate({"strategy": name}).strategy
            ).strategy
            == name
        )
    for name in FALLBACKS:
        assert (
            DistributionPolicy(
                fallback=DistributionConfig.model_validate({"fallback": name}).fallback
            ).fallback
            == name
        )
    for bad in ("random", "territory_only"):
        with pytest.raises(ValidationError):
            DistributionConfig.model_validate({"strategy": bad})
        with pytest.raises(ValueError, match="use one of"):
            DistributionPolicy(strategy=bad)
    with pytest.raises(ValidationError):
        DistributionConfig.model_validate({"fallback": "sticky"})  # a fallback must always find someone
