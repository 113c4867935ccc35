"""Probes and metrics for the platform: cheap, unauthenticated, no internal detail in answers.

``/healthz`` (liveness) only says the process answers. ``/readyz`` (readiness) checks what a
request needs: the database, the store, and the signing keys; the reason for a "no" goes to the
log. ``/metrics`` answers only on ``IDP_METRICS_PORT``, a port the ingress does not route to.
"""

import contextlib
import logging
import time

from flask import Blueprint, Response, abort, current_app, g, request
from sqlalchemy import text

from idp import keys, metrics, outages
from idp.extensions import db, store

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    return _plain("ok", 200)


@bp.get("/readyz")
def readyz():
    try:
        db.session.execute(text("SELECT 1"))
        store().ping()
        for alg in keys.SUPPORTED_ALGS:
            keys.signing_key(alg)
    except Exception as error:  # any failure means "do not send me traffic"
        log.warning("not ready: %s", outages.describe(error))
        with contextlib.suppress(*outages.DATABASE_DOWN):
            db.session.rollback()
        return _plain("not ready", 503)
    return _plain("ready", 200)


@bp.get("/metrics")
def metrics_page():
    if request.environ.get("SERVER_PORT") != str(current_app.config["IDP_METRICS_PORT"]):
        abort(404)
    return Response(metrics.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")


def _plain(body: str, status: int) -> Response:
    response = Response(body + "\n", status=status, content_type="text/plain; charset=utf-8")
    response.cache_control.no_store = True
    return response


def init_request_metrics(app) -> None:
    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        if request.endpoint not in (None, "static", "health.metrics_page"):
            elapsed = time.perf_counter() - g.get("metrics_started", time.perf_counter())
            metrics.REQUEST_DURATION.labels(request.endpoint).observe(elapsed)
        return response
