"""Shared CLI plumbing: the per-invocation context, logging set-up, rich consoles, and the one place
where crm-bridge errors become a message on stderr and an exit code."""

from __future__ import annotations

import gc
import logging
import re
import shlex
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from crm_bridge.errors import (
    AuthError,
    ConfigError,
    CrmBridgeError,
    CrmError,
    CrmFatalError,
    CrmRetriableError,
    DataError,
    PermissionDenied,
    StateError,
)
from crm_bridge.redaction import install_redaction, redact
from crm_bridge.security.files import create_private
from crm_bridge.security.log_text import continuation, one_line
from crm_bridge.security.terminal import SafeConsole

if TYPE_CHECKING:
    from crm_bridge.bootstrap import App
    from crm_bridge.config import Settings

EXIT_OK = 0
EXIT_FAILURE = 1  # a runtime failure: the CRM, the state store, bad data, a bug
EXIT_USAGE = 2  # the command line or the config is wrong


class CliConsole(SafeConsole):
    """The verbs' console: text made safe (``SafeConsole``), and a reader that went away (``| head``)
    surfaces as BrokenPipeError, which ``main`` turns into a quiet status 0 (rich would exit 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


@dataclass
class CliContext:
    """What every verb gets through ``click.pass_obj``: options of the group, lazily loaded
    settings and application, and the consoles to print on."""

    config_path: Path
    log_format: str | None = None
    verbose: int = 0
    console: Console = field(default_factory=lambda: CliConsole(soft_wrap=True))
    _settings: Settings | None = None
    _app: App | None = None

    def settings(self) -> Settings:
        """Load (once) the config file; raises ConfigError. The config's models are imported here
        (a verb imports them after calling this), with the cyclic collector paused."""
        if self._settings is None:
            with no_cyclic_collection():
                from crm_bridge.config import load_settings

                self._settings = load_settings(self.config_path)
            configure_logging(self._settings, log_format=self.log_format, verbose=self.verbose)
        return self._settings

    def app(self) -> App:
        """Wire (once) store and CRM adapter from the settings; closed when the command ends."""
        if self._app is None:
            from crm_bridge.bootstrap import bootstrap

            self._app = bootstrap(self.settings())
            click.get_current_context().call_on_close(self._app.close)
        return self._app


# Set by ``main`` when crm-bridge is its own process (the console script), never when a test or a script
# calls ``main([...])`` in a process of its own: see ``no_cyclic_collection``.
_collector = {"freeze_on_resume": False}


def freeze_on_resume(enabled: bool) -> None:
    """Whether ``no_cyclic_collection`` freezes (``gc.freeze``) what was made while it paused the
    collector: ``main`` turns it on for the console script's own process only."""
    _collector["freeze_on_resume"] = enabled


@contextmanager
def no_cyclic_collection() -> Iterator[None]:
    """The cyclic garbage collector paused while a verb's modules are imported and the config is read:
    both make tens of thousands of objects that all stay alive, so the collections their allocations
    set off (every 700) find nothing and were a tenth of ``crm-bridge validate``'s CPU time. Objects
    freed meanwhile are still freed (reference counting); cycles wait for the next collection.
    Mercurial pauses it the same way around its big parses (``util.nogc``).

    In crm-bridge's own process (``freeze_on_resume``) those objects are then moved out of the
    collector's view (``gc.freeze``, as long-running servers do after start-up): otherwise the first
    collection after the pause walks all of them once more (about 10 ms of ``validate``, interleaved
    A/B). The price is the loading's own cyclic leftovers (about a thousand objects, once), which are
    then freed at exit instead; a test calling ``main`` keeps its objects collectable."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if _collector["freeze_on_resume"]:
            gc.freeze()
        gc.enable()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message (+ exc when present)."""

    def format(self, record: logging.LogRecord) -> str:
        import json  # here: only JSON logging needs it, and every verb's start-up imports this module

        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),  # redacted when the record was made
        }
        if record.exc_info or record.exc_text:
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        # json escapes C0 controls; also escape what other line readers split on (U+2028, NEL...)
        return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(entry, ensure_ascii=False))


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class _TextFormatter(logging.Formatter):
    """``%(asctime)s …: %(message)s`` with the message redacted and on one line (control characters
    escaped); a traceback follows on indented lines, so nothing can forge a record."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.getMessage())  # redacted when the record was made
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info or record.exc_text:
            text += "\n" + continuation(record.exc_text or self.formatException(record.exc_info))  # type: ignore[arg-type]
        if record.stack_info:
            text += "\n" + continuation(self.formatStack(record.stack_info))
        return text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record (tests swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(settings: Settings | None, *, log_format: str | None, verbose: int) -> None:
    """Root logging from the config's ``logging`` section; ``--log-format`` and ``-v`` override it.
    Every record is redacted where it is made (``crm_bridge.redaction.install_redaction``, which
    ``main`` calls before any verb runs and this calls again for callers that skip ``main``)."""
    install_redaction()
    fmt = log_format or (settings.logging.format if settings else "text")
    level_name = settings.logging.level if settings else "WARNING"
    level = logging.DEBUG if verbose else getattr(logging, level_name)
    target = settings.logging.file if settings else None
    if target:
        create_private(Path(target))  # redacted, still the business's activity: owner-only
    handler: logging.Handler = logging.FileHandler(target, encoding="utf-8") if target else _StderrHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_crm_bridge", False):
            root.removeHandler(old)
    handler._crm_bridge = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic tells its context at INFO on every start; its warnings (and, with -vv, all) stay
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose >= 2 else max(level, logging.WARNING))


def error_lines(exc: CrmBridgeError) -> list[str]:
    """The message(s) a user sees for one of our errors: one line, or one per config problem."""
    if isinstance(exc, ConfigError):
        return [redact(p) for p in exc.problems]
    message = redact(exc.message)
    if isinstance(exc, AuthError):
        fix = f" (check {exc.config_key})" if exc.config_key else " (check the crm credentials in the config)"
        return [f"{exc.crm or 'CRM'} rejected the credentials: {message}{fix}"]
    if isinstance(exc, PermissionDenied):
        return [f"{exc.crm or 'CRM'} denied access: {message} (grant the missing scope or right)"]
    if isinstance(exc, CrmRetriableError):
        wait = f"; try again in {exc.retry_after:.0f}s" if exc.retry_after else "; try again later"
        return [f"{exc.crm or 'CRM'} is unavailable or throttling: {message}{wait}"]
    if isinstance(exc, CrmError):
        where = " ".join(x for x in (exc.crm, exc.entity, exc.external_id) if x)
        return [f"{where}: {message}" if where else message]
    if isinstance(exc, StateError):
        return [f"state store: {message}"]
    if isinstance(exc, DataError):
        return [f"bad data: {message}"]
    return [message]


def rerun_hint(exc: CrmBridgeError, command: Sequence[str] | None) -> str:
    """What to run again after a runtime failure that a rerun gets past (the CRM unavailable or
    throttling, a failed CRM call, the state store); empty for errors a rerun cannot fix."""
    if command is None or isinstance(exc, CrmFatalError) or not isinstance(exc, (CrmError, StateError)):
        return ""
    return f" — rerun `crm-bridge {redact(shlex.join(command))}`: work already done is kept and not repeated"


def report_error(exc: BaseException, *, verbose: int, command: Sequence[str] | None = None) -> int:
    """Print ``exc`` for a human on stderr and return the exit code. Never a traceback for our own
    errors; for a bug, one ``internal error`` line (and the traceback with -v). ``command``: the
    arguments the CLI ran with, named in the hint of a failure a rerun gets past."""
    if isinstance(exc, CrmBridgeError):
        lines = error_lines(exc)
        lines[-1] += rerun_hint(exc, command)
        for line in lines:
            click.echo(f"error: {line}", err=True)
        return EXIT_USAGE if isinstance(exc, ConfigError) or exc.exit_code == EXIT_USAGE else EXIT_FAILURE
    if verbose:
        click.echo(redact("".join(traceback.format_exception(exc))), err=True, nl=False)
    detail = redact(f"{type(exc).__name__}: {exc}")
    hint = "" if verbose else " (run with -v for the traceback)"
    click.echo(f"error: internal error: {detail}{hint}", err=True)
    return EXIT_FAILURE


def is_interactive() -> bool:
    return sys.stdout.isatty()
