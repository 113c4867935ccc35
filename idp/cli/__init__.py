"""The ``idp`` command: a Flask CLI group with one sub-group per topic."""

import click
from flask.cli import FlaskGroup


def init_cli(app):
    from idp.cli import (audit, cleanup, client, db, demo, handbook, keys, org, parent, staff,
                         worker)
    from idp.cli import parent_import  # noqa: F401 (adds `idp parent import` to `idp parent`)

    for group in (db.group, org.group, client.group, parent.group, staff.group, keys.group,
                  demo.group, audit.group, handbook.group):
        app.cli.add_command(group)
    app.cli.add_command(worker.command)
    app.cli.add_command(cleanup.command)


def _create_app():
    from idp import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main():
    """Identity provider for parents (OpenID Connect)."""
