"""``idp db``: the schema, only ever made by Alembic migrations.

Alembic is imported inside the commands: every web worker loads the CLI with the app, and
Alembic with Mako and Pygments would cost each of them ~8 MiB it never uses (docs/performance.md: Memory).
"""

from pathlib import Path

import click
from flask.cli import with_appcontext

from idp import audit, keys
from idp.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade() -> None:
    from alembic import command

    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # No statement timeout (IDP_DATABASE_STATEMENT_TIMEOUT is for requests): a migration
            # may rewrite a large table. The chart's hook Job has a deadline of its own.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        command.upgrade(alembic_config(connection), "head")


@click.group("db")
def group():
    """Database schema."""


@group.command("upgrade")
@with_appcontext
def upgrade_command():
    """Apply every pending migration and make any missing signing key (safe to run again)."""
    upgrade()
    # Here, once, rather than racing between workers at their first request.
    try:
        made = keys.ensure_keys(audit.os_user(), "db upgrade")
    except keys.ForeignKek as refused:
        raise click.ClickException(str(refused)) from None
    click.echo("Database is up to date."
               + (f" Created {len(made)} signing key(s)." if made else ""))


@group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def revision_command(message):
    """(Developers) autogenerate a migration from the models."""
    from alembic import command

    with db.engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
