"""``crm-bridge sandbox``: run a local emulated CRM (any installed adapter's emulator) and print how to point
a config at it; serves until Ctrl-C or SIGTERM, optionally keeping its data in a state file."""

from __future__ import annotations

import json
import os
import shlex
import signal
import threading
from pathlib import Path
from typing import Any

import click
import yaml

from crm_bridge.errors import UsageError
from crm_bridge.sandbox.server import (
    DEFAULT_LATENCY_MS,
    DEFAULT_PER_RECORD_MS,
    Sandbox,
    create_emulator,
    installed_sandboxes,
)

DEFAULT_PORT = 8765


def read_data_file(path: Path, option: str) -> dict[str, Any]:
    """A JSON or YAML object from ``path``; UsageError (exit 2) with one line naming the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
        raise UsageError(f"{option} {path}: not valid {kind}: {first_line}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{option} {path}: the file must hold one JSON/YAML object")
    return data


def load_initial_data(sandbox: Sandbox, seed_file: Path | None, state_file: Path | None) -> str:
    """Restore ``state_file`` when it exists, else apply ``seed_file``; returns what was loaded."""
    emulator: Any = sandbox.emulator
    if state_file is not None and state_file.exists():
        data = read_data_file(state_file, "--state")
        try:
            if hasattr(emulator, "restore"):
                emulator.restore(data)
            else:
                emulator.seed(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise UsageError(
                f"--state {state_file}: not a saved {sandbox.kind} sandbox state ({exc})"
            ) from None
        return f"state restored from {state_file}"
    if seed_file is not None:
        data = read_data_file(seed_file, "--seed")
        try:
            created = emulator.seed(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise UsageError(f"--seed {seed_file}: {exc}") from None
        total = sum(len(v) if isinstance(v, list) else 1 for v in created.values())
        return f"seeded {total} records from {seed_file}"
    return "empty"


def save_state(sandbox: Sandbox, state_file: Path) -> None:
    """Write the emulator's state next to ``state_file`` and move it into place (never half-written)."""
    state_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = state_file.with_name(state_file.name + ".tmp")
    temporary.write_text(json.dumps(sandbox.emulator.dump(), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, state_file)


def describe(sandbox: Sandbox, loaded: str, rate_limit: bool) -> list[str]:
    """What the verb prints: the base URL, env vars to export and the config section to use."""
    snippet = sandbox.config_snippet()
    limits = "on" if rate_limit else "off"
    latency = f"{sandbox.latency * 1000:g} ms + {sandbox.per_record * 1000:g} ms per record"
    lines = [
        f"{getattr(sandbox.emulator, 'title', sandbox.kind)} sandbox listening on {sandbox.base_url}",
        f"  latency {latency}, rate limits {limits}, data: {loaded}",
        "",
        "Export (shell):",
        *[f"  export {name}={shlex.quote(str(value))}" for name, value in snippet.get("env", {}).items()],
        "",
        "Put in config.yaml:",
        *[f"  {line}" for line in yaml.safe_dump({"crm": snippet["crm"]}, sort_keys=False).splitlines()],
    ]
    if snippet.get("oauth"):
        lines += ["", "OAuth instead (crm." + sandbox.kind + ".oauth):"]
        lines += [f"  {line}" for line in yaml.safe_dump(snippet["oauth"], sort_keys=False).splitlines()]
    token = (snippet.get("events") or {}).get("application_token")
    if token:
        lines += ["", f"Outgoing webhooks carry auth[application_token]={token}"]
    lines += [
        "",
        f"Control API: {sandbox.base_url}/_sandbox/"
        " (seed, state, requests, counts, reset, faults, clock, webhooks)",
        "Stop with Ctrl-C (or SIGTERM).",
    ]
    return lines


@click.command("sandbox")
@click.option(
    "--crm", "kind", type=click.Choice(installed_sandboxes()), required=True, help="Which CRM to emulate."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON/YAML records to load at start (ignored when --state FILE already exists).",
)
@click.option("--rate-limit", type=click.Choice(["on", "off"]), default="on", show_default=True)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=DEFAULT_LATENCY_MS,
    show_default=True,
    help="Added to every answer, like a cloud portal's round trip.",
)
@click.option(
    "--per-record-ms", type=click.FloatRange(min=0), default=DEFAULT_PER_RECORD_MS, show_default=True
)
@click.option(
    "--plan", default=None, help="The emulated CRM's plan, for a CRM whose rate limits depend on it."
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Load the data from FILE at start and save it there on exit, so it survives restarts.",
)
def command(
    kind: str,
    host: str,
    port: int,
    seed_file: Path | None,
    rate_limit: str,
    latency_ms: float,
    per_record_ms: float,
    plan: str | None,
    state_file: Path | None,
) -> None:
    """Run a local emulated CRM for a demo, end-to-end tests or benchmarks, and print the URL, the
    environment variables and the config section that point crm-bridge at it."""
    if plan is not None:
        plans = tuple(getattr(create_emulator(kind), "plans", ()))
        if not plans:
            raise UsageError(f"--plan: the {kind} sandbox has no plans")
        if plan not in plans:
            raise UsageError(f"--plan: {plan!r} is not a {kind} plan (choose one of {', '.join(plans)})")
    options = {"plan": plan} if plan else {}
    sandbox = Sandbox(
        kind,
        host=host,
        port=port,
        latency_ms=latency_ms,
        per_record_ms=per_record_ms,
        rate_limit=rate_limit == "on",
        emulator_options=options,
    )
    loaded = load_initial_data(sandbox, seed_file, state_file)
    try:
        sandbox.start()
    except OSError as exc:
        raise UsageError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        for line in describe(sandbox, loaded, rate_limit == "on"):
            click.echo(line)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
        if state_file is not None:
            save_state(sandbox, state_file)
    click.echo(f"sandbox stopped{f'; state saved to {state_file}' if state_file else ''}")
