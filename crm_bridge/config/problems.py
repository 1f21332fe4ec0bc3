"""Turning validation failures into one human line per problem, and the checks that need the model's
types: a secret given as a literal, an unknown key with a close match (``did you mean …``)."""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError

from crm_bridge.config.source import Loc, Problem

_SECRET_HINT = (  # a message, not a password
    "is a secret and must come from the environment: write ${{{var}}} here and set {var} in the "  # noqa: S105
    "environment or in .env"
)


# The variable names the documentation and config.example.yaml use for the usual secrets; each
# adapter adds its own under crm.<kind> (AdapterSpec.secret_variables).
_CORE_SECRET_VARS: dict[tuple[str, ...], str] = {
    ("notifications", "channels", "telegram", "bot_token"): "TELEGRAM_BOT_TOKEN",
    ("notifications", "channels", "email", "password"): "SMTP_PASSWORD",
    ("bot", "token"): "PARTNER_BOT_TOKEN",  # as README and bot.py's own messages name them
    ("bot", "webhook_secret"): "PARTNER_BOT_WEBHOOK_SECRET",
}


def _secret_vars() -> dict[tuple[str, ...], str]:
    from crm_bridge.plugin import secret_variables

    return {**_CORE_SECRET_VARS, **secret_variables()}


def _members(annotation: Any) -> list[Any]:
    """The concrete types of an annotation: ``X | None`` -> [X], ``Annotated[X, …]`` -> [X]."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg) if m is not type(None)]
    return [annotation]


def _child_types(annotation: Any, key: str | int) -> list[Any]:
    """Types one level below ``annotation`` when indexed by ``key`` (a field, list index, dict key)."""
    found: list[Any] = []
    for member in _members(annotation):
        origin = get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            if isinstance(key, str) and key in member.model_fields:
                found.append(member.model_fields[key].annotation)
        elif origin in (list, tuple, frozenset, set) and isinstance(key, int):
            found.extend(get_args(member)[:1])
        elif origin is dict:
            args = get_args(member)
            if len(args) == 2:
                found.append(args[1])
    return found


def models_at(root: type[BaseModel], loc: Loc) -> list[type[BaseModel]]:
    """The model classes that describe the mapping found at ``loc`` (for did-you-mean)."""
    current: list[Any] = [root]
    for part in loc:
        current = [child for annotation in current for child in _child_types(annotation, part)]
    return [m for a in current for m in _members(a) if isinstance(m, type) and issubclass(m, BaseModel)]


def secret_literals(root: type[BaseModel], data: Any, from_env: set[Loc]) -> list[Problem]:
    """Every ``SecretStr`` key whose value was written literally instead of through ``${VAR}``."""
    problems: list[Problem] = []
    _secret_walk([root], data, (), from_env, problems)
    return problems


def _secret_walk(
    annotations: list[Any], value: Any, loc: Loc, from_env: set[Loc], out: list[Problem]
) -> None:
    members = [m for a in annotations for m in _members(a)]
    if any(m is SecretStr for m in members):
        if isinstance(value, str | int) and value != "" and loc not in from_env:
            var = _secret_vars().get(tuple(p for p in loc if isinstance(p, str))) or "_".join(
                str(p).upper() for p in loc if isinstance(p, str)
            )
            out.append(Problem(loc, _SECRET_HINT.format(var=var)))
        return
    if isinstance(value, dict):
        for key, child in value.items():
            types_below = [c for a in members for c in _child_types(a, str(key))]
            if types_below:
                _secret_walk(types_below, child, (*loc, str(key)), from_env, out)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            types_below = [c for a in members for c in _child_types(a, index)]
            if types_below:
                _secret_walk(types_below, child, (*loc, index), from_env, out)


def _data_path(loc: tuple[Any, ...], data: Any) -> Loc:
    """Keep only the parts of a pydantic ``loc`` that exist in the data (drops union/validator tags)."""
    path: list[str | int] = []
    current = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(current, dict) and part in current:
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        elif last and isinstance(part, str | int) and not _is_tag(part):
            path.append(part)
    return tuple(path)


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part.startswith(("function-", "json-or-python")))


_TYPE_MESSAGES = {
    "missing": "required key is missing",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_type": "must be a date (YYYY-MM-DD)",
    "time_parsing": "must be a time of day (HH:MM)",
    "time_type": "must be a time of day (HH:MM)",
    "url_parsing": "must be a URL (https://…)",
    "url_scheme": "must be an http(s) URL",
    "url_type": "must be a URL (https://…)",
}

_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def _message(error: Any, root: type[BaseModel], path: Loc) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(root, path)
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        return f"must be {_BOUNDS[kind]} {bound}"
    if kind == "literal_error":
        got = error.get("input")
        expected = str(ctx.get("expected", ""))
        if isinstance(got, str):
            choices = re.findall(r"'([^']*)'", expected)
            close = difflib.get_close_matches(got, choices, n=1, cutoff=0.6)
            if close:
                return f"{got!r} is not allowed (did you mean {close[0]!r}?)"
        shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
        return f"must be one of {expected}{shown}"
    if kind == "enum":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_too_short":
        return f"must be at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} item(s)"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"])).removeprefix("Value error, ")
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    return str(error["msg"]).replace("Input should be", "must be")


def _unknown_key(root: type[BaseModel], path: Loc) -> str:
    if not path or not isinstance(path[-1], str):
        return "unknown key"
    known = sorted({name for model in models_at(root, path[:-1]) for name in model.model_fields})
    close = difflib.get_close_matches(path[-1], known, n=1, cutoff=0.6)
    return f"unknown key (did you mean '{close[0]}'?)" if close else "unknown key"


def from_validation_error(exc: ValidationError, root: type[BaseModel], data: Any) -> list[Problem]:
    """One ``Problem`` per pydantic error, located in the user's data, message in plain words.
    Input values are shown only for choices (never for text, which may be a secret)."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        path = _data_path(tuple(error["loc"]), data)
        problem = Problem(path, _message(error, root, path))
        if problem not in problems:
            problems.append(problem)
    return problems
