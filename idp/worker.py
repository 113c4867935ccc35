"""The worker: ends sessions whose time is up, delivers back-channel logouts, and (once per
``IDP_CLEANUP_INTERVAL`` across all workers) removes expired rows (idp.cleanup).

One round is ``run_once``. In production it runs as its own process (``idp worker``, a
Deployment in the Helm chart); any number of copies may run, because every task is claimed
atomically in Redis. In the embedded default it runs as a thread inside the app process, the only
place that can see the in-process store (``IDP_WORKER``).
"""

import logging
import threading

from idp import cleanup, outages, sessions
from idp.sessions import backchannel
from idp.extensions import db

log = logging.getLogger(__name__)


def run_once() -> dict[str, int]:
    ended = sessions.sweep_expired()
    delivered, failed = backchannel.deliver_due()
    removed = cleanup.run_if_due()  # last: sessions and logouts are the urgent part of a round
    return {"sessions_ended": ended, "logouts_delivered": delivered, "logouts_failed": failed,
            "rows_removed": sum((removed or {}).values())}


def run_forever(app, stop: threading.Event) -> None:
    interval = app.config["IDP_WORKER_INTERVAL"]
    while not stop.is_set():
        with app.app_context():
            try:
                run_once()
            except (*outages.STORE_DOWN, *outages.DATABASE_DOWN) as error:
                # Expected while Redis or the database is down: one line a round, no traceback.
                # Nothing is lost: a claimed task comes back when its lease runs out.
                log.warning("worker round skipped: %s", outages.describe(error))
            except Exception:  # a bad round must not end the loop; the next round retries
                log.exception("worker round failed")
            finally:
                db.session.remove()
        stop.wait(interval)


def wanted_in_process(app) -> bool:
    mode = app.config["IDP_WORKER"]
    if mode not in ("auto", "thread", "off"):
        raise ValueError(f"IDP_WORKER must be auto, thread or off, got {mode!r}")
    return mode == "thread" or (mode == "auto" and not app.extensions["idp.store"].shared)


def start_thread(app) -> threading.Event:
    """Run the worker in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(app, stop), name="idp-worker", daemon=True).start()
    return stop
