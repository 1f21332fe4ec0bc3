"""Reading a config file: YAML (duplicate keys refused), ``.env`` files, and ``${VAR}`` interpolation.

Nothing here validates the meaning of keys; it produces plain data plus the list of problems found so
far (``Problem``), each located by its key path, so that every problem is reported at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from dotenv import dotenv_values

Loc = tuple[str | int, ...]

_REF = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_loc(loc: Loc) -> str:
    """``('tiers', 'levels', 2, 'min_revenue')`` -> ``tiers.levels[2].min_revenue``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the config, located by its key path."""

    loc: Loc
    message: str

    def __str__(self) -> str:
        return f"{format_loc(self.loc)}: {self.message}"


@dataclass
class Interpolated:
    """The config data after ``${VAR}`` substitution, and where substitution happened."""

    data: Any
    from_env: set[Loc] = field(default_factory=set)  # leaves whose value used at least one ${VAR}
    problems: list[Problem] = field(default_factory=list)


# libyaml's parser when PyYAML was built with it (the wheels are): the same safe constructor and the
# resolvers below, about ten times faster than the pure-Python parser on the example config.
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"key {key!r} is given twice (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# YAML 1.1 reads an unquoted 18:00 as the base-60 number 1080; times of day are common in our config
# (working hours), so numbers with ':' stay text, as in YAML 1.2.
_SEXAGESIMAL_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _SEXAGESIMAL_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def read_yaml(path: Path) -> tuple[Any, list[str]]:
    """Parse ``path``; returns (data, problems). A YAML syntax error becomes one problem line
    naming the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None, [f"{path}: config file not found (pass --config PATH or set CRM_BRIDGE_CONFIG)"]
    except IsADirectoryError:
        return None, [f"{path}: is a directory, not a config file"]
    except UnicodeDecodeError:
        return None, [f"{path}: is not UTF-8 text"]
    except OSError as exc:
        return None, [f"{path}: cannot be read ({exc.strerror})"]
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        return None, [f"{where}: invalid YAML: {exc.problem or exc.context}"]
    except yaml.YAMLError as exc:
        return None, [f"{path}: invalid YAML: {exc}"]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return None, [f"{path}: the top level must be a mapping of keys (crm:, state:, …)"]
    return data, []


def environment(config_path: Path | None, *, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables visible to interpolation: the process environment wins over ``.env`` next to the
    config file, which wins over ``.env`` in the current directory. ``os.environ`` is not modified."""
    merged: dict[str, str] = {}
    candidates = [Path.cwd() / ".env"]
    if config_path is not None:
        candidates.append(config_path.resolve().parent / ".env")
    seen: set[Path] = set()
    for env_file in candidates:
        resolved = env_file.resolve()
        if resolved in seen or not resolved.is_file():
            continue
        seen.add(resolved)
        merged.update({k: v for k, v in dotenv_values(resolved).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def interpolate(data: Any, env: Mapping[str, str]) -> Interpolated:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string value (``$$`` is a literal ``$``).

    An unset variable without a default is a problem naming the key and the variable."""
    result = Interpolated(data=None)
    result.data = _walk(data, (), env, result)
    return result


def _walk(value: Any, loc: Loc, env: Mapping[str, str], out: Interpolated) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, (*loc, str(k)), env, out) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*loc, i), env, out) for i, v in enumerate(value)]
    if isinstance(value, str) and "$" in value:
        return _substitute(value, loc, env, out)
    return value


def _substitute(text: str, loc: Loc, env: Mapping[str, str], out: Interpolated) -> str | None:
    used_env = False
    failed = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used_env, failed
        token = match.group(0)
        if token == "$$":  # noqa: S105 (a ${VAR} template token, not a password)
            return "$"
        inner = match.group(1)
        if inner is None:
            out.problems.append(Problem(loc, "'${' without a closing '}'"))
            failed = True
            return ""
        name, has_default, default = inner.partition(":-")
        if not _NAME.match(name):
            out.problems.append(
                Problem(loc, f"'${{{inner}}}' is not a valid variable reference (use ${{NAME}})")
            )
            failed = True
            return ""
        found = env.get(name)
        if found:
            used_env = True
            return found
        if has_default:
            return default
        if found is None:
            out.problems.append(Problem(loc, f"environment variable {name} is not set"))
        else:
            out.problems.append(Problem(loc, f"environment variable {name} is empty"))
        failed = True
        return ""

    replaced = _REF.sub(replace, text)
    if used_env:
        out.from_env.add(loc)
    if failed:
        return None
    return replaced
