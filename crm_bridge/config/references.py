"""Checks across config sections: keys that refer to managers, tiers, channels or stages defined
elsewhere, duplicates, and the order of tier thresholds.

They read the interpolated data (not the validated model) so that they still run, and report, when
another part of the config is invalid: the user sees every problem in one go.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

from crm_bridge.config.ops import EventName
from crm_bridge.config.programme import THRESHOLD_KEYS, TiersConfig
from crm_bridge.config.source import Loc, Problem

_CHANNELS = ("crm", "telegram", "email")
_EVENTS: tuple[str, ...] = get_args(EventName)

# The password in a database URL as the store's parser (SQLAlchemy's make_url, not imported here: the
# config verbs start without it) reads it: after "scheme://", a user without ":" or "/", then ":" and
# the password up to the first "@". A raw "@" further on (in the query) ends it there.
_PASSWORD = re.compile(r"[\w+]+://[^:/]*:([^@]*)@")


def _section(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _items(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return (
        [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]
        if isinstance(value, list)
        else []
    )


def _keys(data: Any, section: str, loc: Loc, problems: list[Problem], what: str) -> set[str]:
    """Keys declared in a list section; duplicates reported."""
    seen: dict[str, int] = {}
    for index, item in _items(data):
        key = item.get("key")
        if not isinstance(key, str):
            continue
        if key in seen:
            problems.append(
                Problem((*loc, index, "key"), f"duplicate {what} key {key!r} (also {section}[{seen[key]}])")
            )
        else:
            seen[key] = index
    return set(seen)


def _tier_keys(data: Any, problems: list[Problem]) -> set[str]:
    levels = _section(data, "tiers", "levels")
    if levels is None:
        return set(TiersConfig().keys())
    keys = _keys(levels, "tiers.levels", ("tiers", "levels"), problems, "tier")
    _threshold_order(_items(levels), problems)
    return keys


def _threshold_order(levels: list[tuple[int, dict[str, Any]]], problems: list[Problem]) -> None:
    """A higher tier may not ask for less than a lower one."""
    highest: dict[str, tuple[Decimal, str]] = {}
    for index, level in levels:
        for name in THRESHOLD_KEYS:
            try:
                value = Decimal(str(level[name])) if level.get(name) is not None else None
            except (InvalidOperation, ValueError):
                continue
            if value is None or not value.is_finite() or value < 0:
                continue
            previous = highest.get(name)
            if previous is not None and value < previous[0]:
                problems.append(
                    Problem(
                        ("tiers", "levels", index, name),
                        f"must be >= {previous[0]} (the value of the lower tier {previous[1]!r})",
                    )
                )
            else:
                highest[name] = (value, str(level.get("key", f"levels[{index}]")))


def _check_refs(value: Any, loc: Loc, known: set[str], what: str, problems: list[Problem]) -> None:
    if isinstance(value, str) and value not in known:
        listing = ", ".join(sorted(known)) or "none defined"
        problems.append(Problem(loc, f"unknown {what} {value!r} (known: {listing})"))


def _distribution(data: Any, managers: set[str], problems: list[Problem]) -> None:
    for index, rule in _items(_section(data, "distribution", "rules")):
        loc: Loc = ("distribution", "rules", index)
        _check_refs(rule.get("manager"), (*loc, "manager"), managers, "manager", problems)
        targets = rule.get("managers")
        if isinstance(targets, list):
            for position, key in enumerate(targets):
                _check_refs(key, (*loc, "managers", position), managers, "manager", problems)
    if _section(data, "distribution", "escalation", "to") == "head" and _section(data, "head") is None:
        problems.append(
            Problem(("distribution", "escalation", "to"), "is 'head' but no head: section is configured")
        )


def _tier_maps(data: Any, tiers: set[str], problems: list[Problem]) -> None:
    for index, rule_set in _items(_section(data, "rewards", "rule_sets")):
        by_tier = _section(rule_set, "commission", "by_tier")
        if not isinstance(by_tier, dict) or not by_tier:
            continue
        loc: Loc = ("rewards", "rule_sets", index, "commission", "by_tier")
        for key in by_tier:
            _check_refs(str(key), (*loc, str(key)), tiers, "tier", problems)
        for missing in sorted(tiers - {str(k) for k in by_tier}):
            problems.append(Problem(loc, f"no commission rate for tier {missing!r}"))
    for path in (("rewards", "mdf", "budget_by_tier"), ("goals", "by_tier", "targets")):
        mapping = _section(data, *path)
        if isinstance(mapping, dict):
            for key in mapping:
                _check_refs(str(key), (*path, str(key)), tiers, "tier", problems)


def _routing(data: Any, problems: list[Problem]) -> None:
    channels = _section(data, "notifications", "channels")
    enabled = {"crm"} if not isinstance(channels, dict) or "crm" not in channels else set()
    if isinstance(channels, dict):
        for name in _CHANNELS:
            section = channels.get(name)
            default_on = name == "crm"
            if isinstance(section, dict) and section.get("enabled", default_on) is True:
                enabled.add(name)
            elif section is None and default_on:
                enabled.add(name)
    routes: list[tuple[Loc, Any]] = [
        (("notifications", "default"), _section(data, "notifications", "default"))
    ]
    routing = _section(data, "notifications", "routing")
    if isinstance(routing, dict):
        routes += [(("notifications", "routing", str(event)), value) for event, value in routing.items()]
    for loc, value in routes:
        if isinstance(value, list):
            for position, channel in enumerate(value):
                if channel in _CHANNELS and channel not in enabled:
                    problems.append(
                        Problem(
                            (*loc, position), f"channel {channel!r} is not enabled in notifications.channels"
                        )
                    )
    _unwritten_default(_section(data, "notifications"), routing, enabled, problems)


def _unwritten_default(notifications: Any, routing: Any, enabled: set[str], problems: list[Problem]) -> None:
    """With no ``default:`` written, events without a route go to crm (the model's default): with crm
    switched off they would reach no one, so the admin is asked to say where they go."""
    if "crm" in enabled or (isinstance(notifications, dict) and "default" in notifications):
        return
    routed = set(routing) if isinstance(routing, dict) else set()
    if routed.issuperset(_EVENTS):
        return
    on = [name for name in _CHANNELS if name in enabled]
    fix = (
        f"write default: [{', '.join(on)}] (or default: [] to drop them)"
        if on
        else "switch a channel on in notifications.channels, or write default: [] to drop them"
    )
    problems.append(
        Problem(
            ("notifications", "default"),
            "is [crm] when not written, and crm is switched off: events without a route in "
            f"notifications.routing would reach no one; {fix}",
        )
    )


def _state_password(data: Any, from_env: set[Loc], problems: list[Problem]) -> None:
    url = _section(data, "state", "url")
    if not isinstance(url, str) or ("state", "url") in from_env:
        return
    found = _PASSWORD.match(url)
    if found is None:
        return
    if "?" in found.group(1):
        message = (
            "has an '@' after the '?': the store would read all before it as user:password and connect to "
            "the host after it; write that '@' as %40"
        )
    else:
        message = "contains a password: write the URL as ${CRM_BRIDGE_STATE_URL} and set it in .env"
    problems.append(Problem(("state", "url"), message))


def check_references(data: Any, from_env: set[Loc]) -> list[Problem]:
    """Every cross-section problem in the (interpolated) config data."""
    problems: list[Problem] = []
    managers = _keys(_section(data, "managers"), "managers", ("managers",), problems, "manager")
    _keys(_section(data, "curators"), "curators", ("curators",), problems, "curator")
    tiers = _tier_keys(data, problems)
    _distribution(data, managers, problems)
    _tier_maps(data, tiers, problems)
    _routing(data, problems)
    _state_password(data, from_env, problems)
    return problems
