"""Prometheus metrics: what operators watch and alert on.

Counters and the latency histogram are kept per process. With several server workers (granian
or gunicorn) set ``PROMETHEUS_MULTIPROC_DIR`` (the Helm chart does) so a scrape sums every
worker. Two gauges describe shared state, read from Redis and the database at scrape time: every
replica reports the same value, so aggregate them with ``max``, not ``sum``.
"""

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

SIGN_INS = Counter("idp_sign_ins", "Sign-in attempts by result.", ["result"])
ACTIVATIONS = Counter("idp_activations", "Accounts activated.")
TOKENS_ISSUED = Counter("idp_tokens_issued", "Token responses by grant type.", ["grant"])
TOKEN_ERRORS = Counter("idp_token_errors", "Token endpoint errors by RFC 6749 error code.", ["error"])
REQUEST_DURATION = Histogram("idp_request_duration_seconds", "Request latency by endpoint.",
                             ["endpoint"])
SESSIONS_ENDED = Counter("idp_sessions_ended", "Sign-in sessions ended, by reason.", ["reason"])
BACKCHANNEL_LOGOUTS = Counter("idp_backchannel_logouts",
                              "Back-channel logout attempts by result.", ["result"])
ROWS_REMOVED = Counter("idp_cleanup_rows_removed",
                       "Expired rows removed by the clean-up, by table.", ["table"])


class _ThisProcess:
    def collect(self):
        return REGISTRY.collect()


def _this_process() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    return registry


def exposition(*shared_state) -> bytes:
    """The text format of every metric, for one scrape of a web process, with the collectors of
    shared state the caller adds (the web layer's: this module imports nothing of ours)."""
    registry = _this_process()
    for collector in shared_state:
        registry.register(collector)
    return generate_latest(registry)


def serve_for_worker(port: int) -> None:
    """``idp worker`` has no web app: its counters get their own small HTTP server."""
    start_http_server(port, registry=_this_process())


_DURATION_BY_ENDPOINT = {}


def observe_request(endpoint: str, seconds: float) -> None:
    """One request's latency; the labelled child is looked up once per endpoint, not per request
    (a lock and a tuple of labels each time)."""
    child = _DURATION_BY_ENDPOINT.get(endpoint)
    if child is None:
        child = _DURATION_BY_ENDPOINT[endpoint] = REQUEST_DURATION.labels(endpoint)
    child.observe(seconds)
