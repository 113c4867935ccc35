"""``idp worker``: end expired sessions and deliver back-channel logouts (see idp.worker)."""

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from idp import metrics, worker


@click.command("worker")
@click.option("--once", is_flag=True, help="Do one round and stop (for a scheduled job or a test).")
@with_appcontext
def command(once):
    """Run the worker (production: its own Deployment; any number of copies is safe)."""
    if once:
        done = worker.run_once()
        click.echo(" ".join(f"{name}={count}" for name, count in done.items()))
        return
    if not current_app.extensions["idp.store"].shared:
        raise click.ClickException(
            "IDP_REDIS_URL is not set: a separate worker cannot see the app's in-process store. "
            "In the embedded default the worker runs inside the app (IDP_WORKER=auto)."
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # finish the round, then stop
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    metrics.serve_for_worker(current_app.config["IDP_METRICS_PORT"])
    click.echo(f"worker: a round every {current_app.config['IDP_WORKER_INTERVAL']} s")
    worker.run_forever(current_app._get_current_object(), stop)
