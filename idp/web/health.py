"""Probes and metrics for the platform: cheap, unauthenticated, no internal detail in answers.

``/healthz`` (liveness) only says the process answers. ``/readyz`` (readiness) checks what a
request needs: the database, the store, and the signing keys; the reason for a "no" goes to the
log. ``/metrics`` answers only on ``IDP_METRICS_PORT``, a port the ingress does not route to.
"""

import contextlib
import logging
import time

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import select, text

from idp import clock, keys, metrics, outages, sessions
from idp.extensions import db, store
from idp.models.signing_key import ACTIVE, SigningKey

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
    return Response(metrics.exposition(_SharedState()),
                    content_type="text/plain; version=0.0.4; charset=utf-8")


class _SharedState:
    """Gauges of state every replica shares: read when scraped (needs an app context)."""

    def collect(self):
        active = GaugeMetricFamily("idp_active_sessions", "Live sign-in sessions.")
        active.add_metric([], sessions.count())
        yield active
        age = GaugeMetricFamily("idp_signing_key_age_seconds",
                                "Age of the active signing key per algorithm.", labels=["alg"])
        rows = db.session.execute(
            select(SigningKey.alg, SigningKey.activated_at, SigningKey.created_at)
            .where(SigningKey.state == ACTIVE)
        )
        for alg, activated_at, created_at in rows:
            age.add_metric([alg], clock.now() - (activated_at or created_at))
        yield age


def _plain(body: str, status: int) -> Response:
    response = Response(body + "\n", status=status, content_type="text/plain; charset=utf-8")
    response.cache_control.no_store = True
    return response


#: No latency for unmatched paths, static files, or the scrape itself.
UNTIMED_ENDPOINTS = (None, "static", "health.metrics_page")


def observe(response):
    """After every response (idp.web): the request's latency, from when it arrived in Flask
    (idp.web.request_class), per endpoint."""
    endpoint = request.endpoint
    if endpoint not in UNTIMED_ENDPOINTS:
        metrics.observe_request(endpoint, time.perf_counter() - request.started)
    return response
