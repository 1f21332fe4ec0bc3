"""Redaction of secrets and personal data from text bound for logs and error messages: bearer and
OAuth tokens, client secrets, e-mail addresses and phone numbers, plus each installed adapter's own
secret shapes (``AdapterSpec.redaction_rules``: a webhook URL with its secret in the path, say).

``redact`` is the function; ``RedactingFilter`` applies it to a log record (message, arguments and
traceback); ``install_redaction()`` applies it to every record the process logs, whichever logger and
handler — the CLI's entry (``crm_bridge.cli.main``, before any verb runs) and the daemon call it once.
Redaction is the second line of defence: code must not put secrets into messages in the first place
(crm_bridge.errors)."""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"

# Names whose values are secrets wherever they appear: query strings, form bodies, JSON, headers.
_SECRET_NAMES = (  # names to mask, not a password
    r"access_token|refresh_token|client_secret|id_token|application_token|api_key|apikey|hapikey"  # noqa: S105
    r"|password|passwd|secret|auth|token|x-refresh-token"
)
# auth[access_token]=… (Bitrix24 install events, form-encoded), also percent-encoded brackets.
_BRACKETED = r"(?:[a-z_]+(?:\[|%5B))?"
_CLOSE = r"(?:\]|%5D)?"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer xyz / Basic xyz / OAuth xyz; not the English words our own texts put after
    # them ("no OAuth tokens are stored", "the OAuth grant", "basic access"): no credential is one
    (
        re.compile(
            r"\b(Bearer|Basic|OAuth)\s+"
            r"(?!(?:tokens?|grants?|apps?|application|auth|authentication|authori[sz]ation|refresh|flow|"
            r"server|client|scopes?|credentials?|access|codes?|secrets?|pair|portal|setup|settings|plan|tier)\b)"
            r"[A-Za-z0-9\-._~+/=]{4,}",
            re.IGNORECASE,
        ),
        rf"\1 {MASK}",
    ),
    # Telegram Bot API: https://api.telegram.org/bot<token>/sendMessage (urllib3 logs the path at DEBUG)
    (re.compile(r"(/bot)\d+:[A-Za-z0-9_-]{10,}"), rf"\1{MASK}"),
    # name=value in query strings and form bodies
    (
        re.compile(rf"(?i)(?<![A-Za-z0-9])({_BRACKETED}(?:{_SECRET_NAMES}){_CLOSE})=([^&\s\"'<>;,]+)"),
        rf"\1={MASK}",
    ),
    # ?code=… / &code=… (OAuth authorization codes in redirect URLs; a bare "code" elsewhere is an error code)
    (re.compile(r"(?i)([?&]code=)[^&\s\"'<>;,]+"), rf"\1{MASK}"),
    # "name": "value" in JSON and Python reprs
    (
        re.compile(rf"(?i)([\"'](?:{_SECRET_NAMES})[\"']\s*:\s*)([\"'])(?:(?!\2).)*\2"),
        rf"\1\2{MASK}\2",
    ),
    # Header lines: X-Refresh-Token: value, Cookie: value
    (re.compile(r"(?im)\b(x-refresh-token|cookie|set-cookie)(\s*:\s*)[^\r\n]+"), rf"\1\2{MASK}"),
    # e-mail addresses (also percent-encoded @)
    (re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"), EMAIL_MASK),
)

# Phone candidates: an optional +, then digits with spaces, dashes or brackets between them.
_PHONE = re.compile(r"(?<![\w./#-])(\+?\(?\d[\d\s()\-]{6,}\d)(?!\w|[:/-]|\.\d)")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _phone(match: re.Match[str]) -> str:
    text = match.group(1)
    digits = sum(ch.isdigit() for ch in text)
    if _DATE_LIKE.match(text) or not 10 <= digits <= 15:
        return match.group(0)
    formatted = text.startswith("+") or any(ch in text for ch in " ()-")
    if formatted:
        return PHONE_MASK
    # A bare run of digits is a phone only in the Russian 11-digit form (7/8 + 10 digits);
    # others are ids or Unix times and stay readable.
    return PHONE_MASK if digits == 11 and text[0] in "78" else match.group(0)


_adapter_rules: tuple[tuple[re.Pattern[str], str], ...] | None = None
_loading = False


def _plugin_rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The installed adapters' rules, read once (while they load, only the core's rules apply)."""
    global _adapter_rules, _loading
    if _adapter_rules is None and not _loading:
        _loading = True
        try:
            from crm_bridge.plugin import redaction_rules

            _adapter_rules = redaction_rules()
        finally:
            _loading = False
    return _adapter_rules or ()


def redact(text: object) -> str:
    """``text`` (anything, converted with ``str``) with every secret and personal datum masked."""
    out = str(text)
    for pattern, replacement in (*_plugin_rules(), *_RULES):
        out = pattern.sub(replacement, out)
    return _PHONE.sub(_phone, out)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final message and traceback text in place.

    Attach it to handlers (``install_redaction``): handler filters see records from every logger,
    including third-party ones such as urllib3, whose messages carry URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed %-format: keep what there is, redacted
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(*handlers: logging.Handler) -> None:
    """Without arguments: redact every log record this process creates from now on, from any logger
    to any handler (crm-bridge's own, a library's, logging's last-resort stderr output), by wrapping
    the log record factory once (calling it again changes nothing). With ``handlers``: add a
    ``RedactingFilter`` to each of them only."""
    if handlers:
        for handler in handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
        return
    base = logging.getLogRecordFactory()
    if getattr(base, "_crm_bridge_redacting", False):
        return
    scrub = RedactingFilter()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        scrub.filter(record)
        return record

    redacting_record._crm_bridge_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_record)
