"""``idp cleanup``: remove expired rows now (see idp.cleanup), for operators and cron."""

import click
from flask.cli import with_appcontext

from idp import cleanup
from idp.cli.table import echo_table


@click.command("cleanup")
@with_appcontext
def command():
    """Remove expired codes, refresh tokens, grants and e-mailed links now.

    The same rules as the worker's clean-up, which runs by itself every IDP_CLEANUP_INTERVAL
    seconds; safe to run at any time, also while workers run.
    """
    removed = cleanup.run()
    echo_table(("table", "removed"), [(table, str(count)) for table, count in removed.items()])
    click.echo(f"{sum(removed.values())} rows removed.")
