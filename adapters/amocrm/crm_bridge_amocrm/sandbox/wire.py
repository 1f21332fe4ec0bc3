"""amoCRM v4 wire helpers: PHP-style bracket query parsing, HAL links and problem+json error bodies.

Error shapes follow amoCRM's answers as quoted in its docs and the official PHP client
(``AmoCRMApiRequest::checkHttpStatus``): ``application/problem+json`` with title/type/status/detail,
``validation-errors`` for 400, an empty 204 for empty lists, an nginx HTML page for an account block.
"""

from __future__ import annotations

import re
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse

HAL = {"Content-Type": "application/hal+json"}
PROBLEM = {"Content-Type": "application/problem+json"}
OAUTH_PROBLEM_TYPE = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"

BLOCK_PAGE = (
    "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    "<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class AmoError(Exception):
    """Raised inside handlers; turned into the CRM's error response at the dispatcher."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> SandboxResponse:
    body: dict[str, Any] = dict(extra)
    body.update(
        {
            "title": title or _TITLES.get(status, "Error"),
            "type": f"https://httpstatus.es/{status}",
            "status": status,
            "detail": detail,
        }
    )
    return SandboxResponse(status=status, body=body, headers=dict(PROBLEM))


def oauth_problem(status: int, hint: str, detail: str) -> SandboxResponse:
    """The OAuth server's error: quoted verbatim in amocrm/amocrm-api-php issues #123, #269, #315."""
    body = {
        "hint": hint,
        "title": "Некорректный запрос",
        "type": OAUTH_PROBLEM_TYPE,
        "status": status,
        "detail": detail,
    }
    return SandboxResponse(status=status, body=body, headers=dict(PROBLEM))


def validation_failed(errors: list[dict[str, Any]]) -> AmoError:
    """400 with ``validation-errors``: ``[{request_id, errors: [{code, path, detail}]}]``."""
    body = {
        "validation-errors": errors,
        "title": "Bad Request",
        "type": "https://httpstatus.es/400",
        "status": 400,
        "detail": "Request validation failed",
    }
    return AmoError(SandboxResponse(status=400, body=body, headers=dict(PROBLEM)))


def field_error(code: str, path: str, detail: str) -> dict[str, str]:
    return {"code": code, "path": path, "detail": detail}


def no_content() -> SandboxResponse:
    return SandboxResponse(status=204, body=None)


def blocked() -> SandboxResponse:
    return SandboxResponse(status=403, body=BLOCK_PAGE, headers={"Content-Type": "text/html"})


def parse_php_query(query: dict[str, list[str]]) -> dict[str, Any]:
    """``filter[updated_at][from]=1&filter[id][]=2&with=contacts`` -> nested dicts/lists (PHP rules)."""
    result: dict[str, Any] = {}
    for raw_key, values in query.items():
        match = _KEY.match(raw_key)
        if not match:
            continue
        parts = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        for value in values:
            _assign(result, parts, value)
    return result


def _assign(node: Any, parts: list[str], value: str) -> None:
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if isinstance(node, list):
            if last:
                node.append(value)
                return
            child: Any = [] if parts[index + 1] == "" else {}
            node.append(child)
            node = child
            continue
        if last:
            node[part] = value
            return
        if parts[index + 1] == "":
            existing = node.get(part)
            if not isinstance(existing, list):
                node[part] = [] if existing is None else [existing] if isinstance(existing, str) else existing
        elif not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]


def flatten_php(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts/lists -> ``a[b][0][c]=v`` pairs (the form encoding of amoCRM webhooks)."""
    pairs: list[tuple[str, str]] = []
    if isinstance(data, dict):
        items: list[tuple[Any, Any]] = list(data.items())
    elif isinstance(data, list):
        items = list(enumerate(data))
    else:
        return [(prefix, _scalar(data))]
    for key, value in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(flatten_php(value, name))
    return pairs


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def form_encode(data: dict[str, Any]) -> bytes:
    return urlencode(flatten_php(data), quote_via=quote).encode("utf-8")


def base_url(request: SandboxRequest, subdomain: str) -> str:
    """Links point where the client called us (the sandbox host), like amoCRM's point at the account."""
    host = request.headers.get("host")
    if host:
        scheme = request.headers.get("x-forwarded-proto", "http")
        return f"{scheme}://{host}"
    return f"https://{subdomain}.amocrm.ru"


def self_link(href: str) -> dict[str, Any]:
    return {"self": {"href": href}}


def as_int(value: Any) -> int | None:
    """An integer from a JSON number or a numeric string; None otherwise (bools are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    return None


def as_int_list(value: Any) -> list[int]:
    """``filter[id]=1`` / ``filter[id][]=1&filter[id][]=2`` / ``filter[id]=1,2`` -> [1, 2]."""
    raw: list[Any] = (
        value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
    )
    out: list[int] = []
    for item in raw:
        for piece in str(item).split(","):
            number = as_int(piece)
            if number is not None:
                out.append(number)
    return out


def http_date(value: str | None) -> int | None:
    """``If-Modified-Since`` (an HTTP date; a bare Unix time is accepted too) -> Unix seconds."""
    if not value:
        return None
    if value.strip().isdigit():
        return int(value.strip())
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
