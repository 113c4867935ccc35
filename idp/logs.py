"""Logs: one JSON object per line, with the request id, the client and the organisation.

What goes into a line is chosen, never dumped: the route's pattern (``/activeren/<token>``,
never the path itself), no query strings, form fields or headers, so no password, code, token
or activation link can end up in a log. ``X-Request-ID`` is taken from the caller when it looks
like one (so a request can be followed through the ingress) and returned in the response.
"""

import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone

from flask import g, has_request_context, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: Probes and scrapes come every few seconds: their lines would drown the rest.
QUIET_ENDPOINTS = {"health.healthz", "health.readyz", "health.metrics_page", "static"}

log = logging.getLogger("idp.request")


def _safe(value) -> str | None:
    return value if isinstance(value, str) and SAFE_ID.match(value) else None


def request_fields() -> dict:
    """Who and what the current request is about; only identifiers, never credentials."""
    signin = g.get("signin")
    auth = request.authorization
    client_id = request.args.get("client_id") or (auth.username if auth and auth.type == "basic" else None)
    if client_id is None and request.mimetype == "application/x-www-form-urlencoded":
        client_id = request.form.get("client_id")
    org = signin.organisation_code if signin else request.form.get("organisation") if request.method == "POST" else None
    fields = {"request_id": g.get("request_id"), "client_id": _safe(client_id), "org": _safe(org)}
    return {name: value for name, value in fields.items() if value}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            try:
                entry.update(request_fields())
            except Exception:  # e.g. a body too large to read: the line is still written
                entry["request_id"] = g.get("request_id")
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str, format_name: str) -> None:
    handler = logging.StreamHandler()
    if format_name == "json":
        handler.setFormatter(JsonFormatter())
    elif format_name == "text":
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        raise ValueError(f"IDP_LOG_FORMAT must be json or text, got {format_name!r}")
    logging.basicConfig(level=level, handlers=[handler])
    # No format of ours or gunicorn's shows where a line was logged from or the thread: not
    # worked out for every record (the logging HOWTO's "Optimization"; the caller's frame is
    # most of it). gunicorn's own lines show the process id, which stays.
    logging._srcfile = None
    logging.logThreads = logging.logMultiprocessing = False
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Authlib logs whole tokens at DEBUG ("Issue token ..."): never below INFO, whatever is set.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLevelName(level)))


def init_request_logging(app) -> None:
    @app.before_request
    def start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.endpoint not in QUIET_ENDPOINTS:
            started = g.get("request_started", time.perf_counter())
            request_line(request.method, _route(), response.status_code, started)
        return response


def request_line(method: str, route: str, status: int, started: float, **fields) -> None:
    """The one line per request. ``fields``: what the formatter cannot find in a request context
    (idp.web.documents answers without one, and passes the request id)."""
    if not log.isEnabledFor(logging.INFO):
        return
    duration = time.perf_counter() - started
    fields.update(method=method, route=route, status=status, duration_ms=round(duration * 1000, 1))
    log.info("%s %s %s", method, route, status, extra={"fields": fields})


def _route() -> str:
    """The URL rule that matched (``/activeren/<token>``), never the path with its values."""
    return request.url_rule.rule if request.url_rule else "(no route)"
