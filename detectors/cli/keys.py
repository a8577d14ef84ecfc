"""``aimark keys``: local signing credentials for C2PA."""

from __future__ import annotations

from pathlib import Path

import click

from aimark.labeller import keys as keys_module

from .common import usage_errors


@click.group()
def keys():
    """Signing credentials for C2PA."""


@keys.command("init")
@click.option("--org", required=True, help="Organization name written into the certificates.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write them (default: $AIMARK_KEYS or ~/.config/aimark/keys).")
@click.option("-f", "--force", is_flag=True, help="Replace existing keys.")
def keys_init(org, folder, force):
    """Create a local CA and a C2PA signer certificate (files 0600, folder 0700).

    Give ca.pem to whoever verifies your files ('aimark inspect --trust ca.pem'). An existing folder that
    other users can open is refused; existing keys are replaced only with --force.
    """
    paths = usage_errors(lambda: keys_module.init_keys(folder or keys_module.default_key_folder(), org, force=force))
    click.echo(f"wrote {paths.ca_cert}, {paths.signer_chain} and their keys (mode 0600) in {paths.folder}")
