"""``crm-bridge secrets``: the key the state store encrypts secrets with (``CRM_BRIDGE_SECRET_KEY``).

Rotation without downtime: ``generate-key``; set ``CRM_BRIDGE_SECRET_KEY=NEW,OLD`` on every replica
(each can then read both); ``rotate-key`` once; then ``CRM_BRIDGE_SECRET_KEY=NEW`` everywhere."""

from __future__ import annotations

import click

from crm_bridge.cli.output import CliContext
from crm_bridge.security.secrets import ENV, generate_key


@click.group("secrets")
def command() -> None:
    """Manage the key that encrypts CRM tokens and other secrets in the state store."""


@command.command("generate-key")
def generate() -> None:
    """Print a new Fernet key for CRM_BRIDGE_SECRET_KEY (nothing is stored)."""
    click.echo(generate_key())


@command.command("rotate-key")
@click.pass_obj
def rotate(obj: CliContext) -> None:
    """Re-encrypt every stored secret under the first key of CRM_BRIDGE_SECRET_KEY (NEW,OLD) and
    encrypt any left in plain text by an older version. All or nothing; exit 2 when a key is missing
    or cannot decrypt a secret."""
    from crm_bridge.bootstrap import keyring_for  # the config's models: not for --help
    from crm_bridge.store import open_store

    settings = obj.settings()
    with open_store(settings.state.url, keyring=keyring_for(settings)) as store:
        rotated, encrypted = store.rotate_secrets()
    obj.console.print(
        f"{rotated} stored secret(s) re-encrypted under the first key of {ENV}"
        + (f", {encrypted} plain-text secret(s) encrypted" if encrypted else "")
        + "; the other keys can now be removed from it"
    )
