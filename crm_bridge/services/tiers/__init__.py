"""Partner tiers on schedule: ``service.TierService`` evaluates every partner over the rolling window,
holds downgrades through the grace period and the head's approval, and records each ``TierChange``
(``result.TierRun`` is what one evaluation did; ``settings.TierSettings`` what it is configured with);
``apply.TierApplier`` applies a recorded change to the CRM (tier field, tier-upgrade funnel card, the
curator's task and notification), idempotently."""
