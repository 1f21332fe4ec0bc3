"""The ``crm-bridge`` command line: one click group whose verbs live in their own modules.

Adding a verb: write ``crm_bridge/cli/<verb>.py`` exposing ``command`` (a ``click.Command`` whose name
is the verb), put ``"<verb>"`` in ``VERBS`` below and its one-line help in ``crm_bridge/texts/verbs.py``
(English and Russian). ``--help`` lists the verbs from those two tables without importing any verb
module, and a verb's module is imported only when that verb runs, so a verb's dependencies never slow
the others down (``benchmarks/bench_startup.py`` measures it; ``tests/cli/test_startup.py`` keeps it).
A verb gets the shared ``CliContext`` with ``@click.pass_obj`` (``obj.settings()``, ``obj.app()``,
``obj.console``) and raises ``crm_bridge.errors`` types; ``main`` turns them into a message and an
exit code: 0 ok, 1 runtime failure, 2 usage or config error.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from crm_bridge import __version__
from crm_bridge.cli.output import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliContext,
    configure_logging,
    freeze_on_resume,
    no_cyclic_collection,
    report_error,
)
from crm_bridge.redaction import install_redaction

# Verb modules under crm_bridge/cli/, in the order ``--help`` lists them (with the one-line help of
# crm_bridge/texts/verbs.py). Running a name whose module is not there is "No such command".
VERBS: tuple[str, ...] = (
    "validate",
    "funnels",
    "doctor",
    "users",
    "provision",
    "sync",
    "run",
    "status",
    "state",
    "intake",
    "tiers",
    "partners",
    "plans",
    "training",
    "report",
    "rewards",
    "sandbox",
    "demo",
    "secrets",
    "db",
)


# Options of the running invocation that ``main`` needs after click's context has closed.
_invocation: dict[str, int] = {"verbose": 0}


class ReaderGone(Exception):
    """Standard output's reader went away (``| head``); ``main`` ends quietly with status 0."""


class LazyGroup(click.Group):
    """A group that imports ``crm_bridge.cli.<verb>`` only when the verb runs (or its own ``--help`` is
    asked for); the group's ``--help`` lists ``VERBS`` with their one-line help from the static table.
    A verb module that fails to import does not break ``--help`` or the other verbs: running it
    reports the error."""

    # A closed pipe is carried past click, which would turn it into a silent exit 1: while the options
    # are parsed (--help, --version) and while a verb runs.
    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError as exc:
            raise ReaderGone from exc

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise ReaderGone from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name) if cmd_name in VERBS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The ``Commands:`` section from the static tables: no verb module is imported for it."""
        from crm_bridge.texts import words

        lines = words("verbs", help_locale(os.environ))
        with formatter.section("Commands"):
            formatter.write_dl([(verb, lines.get(verb, "")) for verb in self.list_commands(ctx)])

    @staticmethod
    def _load(verb: str) -> click.Command | None:
        module_name = f"{__name__}.{verb}"
        try:
            with no_cyclic_collection():
                module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            return _unavailable(verb, exc)
        except Exception as exc:  # a broken verb module must not take the others down
            return _unavailable(verb, exc)
        command = getattr(module, "command", None)
        if not isinstance(command, click.Command):
            return _unavailable(verb, TypeError(f"{module_name} must define `command`, a click.Command"))
        return command


def help_locale(environ: Mapping[str, str]) -> str:
    """The language of the verb list in ``--help``: Russian when the environment's locale is Russian
    (``LC_ALL``, else ``LC_MESSAGES``, else ``LANG``, the order gettext reads them in), else English.
    ``--help`` answers before any config is read, so the config's ``locale`` cannot choose it."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"


def _unavailable(verb: str, error: Exception) -> click.Command:
    def fail() -> None:
        raise error

    return click.Command(
        verb,
        callback=fail,
        help=f"(unavailable: {type(error).__name__}: {error})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("config.yaml"),
    show_default=True,
    envvar="CRM_BRIDGE_CONFIG",
    show_envvar=True,
    help="The config file (YAML). Secrets come from the environment or a .env file next to it.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log line format (default: logging.format in the config, else text).",
)
@click.option("-v", "--verbose", count=True, help="Debug logging, and tracebacks for internal errors.")
@click.version_option(__version__, prog_name="crm-bridge")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, log_format: str | None, verbose: int) -> None:
    """crm-bridge: partner-sales funnels, lead distribution, KPIs, tiers and rewards on top of
    Bitrix24, amoCRM (Kommo) or HubSpot.

    Exit status: 0 ok, 1 runtime failure, 2 usage or config error."""
    _invocation["verbose"] = verbose
    # Every verb logs through one redacted handler from here on, whether it loads the settings (which
    # then apply the config's logging section) or not (demo, sandbox, secrets generate-key).
    configure_logging(None, log_format=log_format, verbose=verbose)
    ctx.obj = CliContext(config_path=config_path, log_format=log_format, verbose=verbose)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns (and exits with) the exit status."""
    args = sys.argv[1:] if argv is None else argv
    _invocation["verbose"] = 0
    freeze_on_resume(argv is None)  # our own process: see no_cyclic_collection
    install_redaction()  # every log record of every verb, settings loaded or not
    try:
        result = cli.main(args=args, prog_name="crm-bridge", standalone_mode=False)
        code = result if isinstance(result, int) else EXIT_OK
        sys.stdout.flush()  # a reader that went away (``| head``) shows up here at the latest
    except (BrokenPipeError, ReaderGone):
        code = _reader_gone()
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort as exc:
        interrupted = isinstance(exc.__context__, KeyboardInterrupt)
        click.echo("interrupted" if interrupted else "aborted", err=True)
        code = 130 if interrupted else EXIT_FAILURE
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    except Exception as exc:  # every error ends here: ours get a message, bugs an "internal error" line
        if isinstance(exc, BrokenPipeError) or isinstance(exc.__context__, BrokenPipeError):
            code = _reader_gone()
        else:
            code = report_error(exc, verbose=_invocation["verbose"], command=args)
    if argv is None:
        _before_exit()
        sys.exit(code)
    return code


def _before_exit() -> None:
    """The process ends next. Every object it made moves to the collector's permanent generation
    (``gc.freeze``), so the interpreter's last collections at exit do not walk them all once more: that
    walk was a fifth of the CPU time of ``crm-bridge validate`` (benchmarks/bench_startup.py). Objects
    are still freed as the modules are torn down, and the atexit handlers (log files flushed, the
    store closed) run as before; what is skipped is collecting reference cycles at exit, whose
    finalizers Python does not promise to run at exit anyway."""
    gc.freeze()


def _reader_gone() -> int:
    """Standard output was a pipe whose reader stopped reading (``crm-bridge tiers list | head``):
    that is how such a pipe ends, not a failure. Output from here on goes nowhere (so the interpreter's
    own final flush cannot fail either), and the status is 0."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OK


__all__ = ["VERBS", "cli", "help_locale", "main"]
