"""The CLI's console: text from partners or the CRM (company names, reasons) cannot drive the admin's
terminal or crash a command. Control characters (ANSI escape sequences, carriage returns, bidi
overrides) are shown escaped, and text that is not valid rich markup (a company called ``ООО [/b]``)
is printed as it is instead of raising. CRM values should still be passed through
``rich.markup.escape`` so that ``[red]`` or ``[link=…]`` in a name is not interpreted."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.errors import MarkupError
from rich.text import Text

# as crm_bridge.security.log_text, but keeping line feeds and tabs (our own multi-line output)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class SafeConsole(Console):
    """A ``rich`` console whose strings (printed or in table cells) are made safe first."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        safe = _UNSAFE.sub(_escape, text)
        try:
            return super().render_str(safe, **kwargs)
        except MarkupError:
            return super().render_str(safe, **{**kwargs, "markup": False})
