"""Logs: one JSON object per line, with the request id, the client and the organisation.

What goes into a line is chosen, never dumped: the route's pattern (``/activeren/<token>``,
never the path itself), no query strings, form fields or headers, so no password, code, token
or activation link can end up in a log. ``X-Request-ID`` is taken from the caller when it looks
like one (so a request can be followed through the ingress) and returned in the response.
"""

import json
import logging
import math
import os
import re
import time
from datetime import datetime, timezone

from flask import g, has_request_context, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: Probes and scrapes come every few seconds: their lines would drown the rest.
QUIET_ENDPOINTS = {"health.healthz", "health.readyz", "health.metrics_page", "static"}

log = logging.getLogger("idp.request")


def _safe(value) -> str | None:
    return value if isinstance(value, str) and SAFE_ID.match(value) else None


def new_request_id() -> str:
    """A random UUID 4 as 32 hex digits, what ``uuid.uuid4().hex`` gives, without making a UUID
    object for every request."""
    number = int.from_bytes(os.urandom(16), "big")
    number = number & ~(0xC000 << 48) | 0x8000 << 48  # RFC 4122 variant
    number = number & ~(0xF000 << 64) | 4 << 76  # version 4
    return f"{number:032x}"


def request_id_of(environ) -> str:
    """The caller's ``X-Request-ID`` when it looks like one, else a new id."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if REQUEST_ID.match(given) else new_request_id()


_NOT_YET = object()


def _claimed_client(req) -> str | None:
    """The client the request names (query, HTTP Basic, or form): parsed once per request,
    however many lines it logs (the request does not change)."""
    client_id = getattr(req, "_log_client", _NOT_YET)  # on the request: g may outlive it
    if client_id is _NOT_YET:
        auth = req.authorization
        client_id = req.args.get("client_id") or (auth.username if auth and auth.type == "basic" else None)
        if client_id is None and req.mimetype == "application/x-www-form-urlencoded":
            client_id = req.form.get("client_id")
        req._log_client = client_id
    return client_id


def request_fields() -> dict:
    """Who and what the current request is about; only identifiers, never credentials."""
    req = request._get_current_object()  # one context lookup, not one per attribute
    client_id = _claimed_client(req)
    signin = g.get("signin")  # set or dropped during the request: read for every line
    org = signin.organisation_code if signin else req.form.get("organisation") if req.method == "POST" else None
    fields = {"request_id": getattr(req, "request_id", None), "client_id": _safe(client_id),
              "org": _safe(org)}
    return {name: value for name, value in fields.items() if value}


class _UtcTime:
    """``datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")``, with the
    part up to the seconds made once per second rather than for every line."""

    def __init__(self):
        #: (whole second, its text): one tuple, so a thread never sees one's text with another.
        self.made = (None, "")

    def __call__(self, timestamp: float) -> str:
        # As datetime rounds a float timestamp: to the microsecond, half to even.
        fraction, whole = math.modf(timestamp)
        micros = round(fraction * 1e6)
        if micros >= 1_000_000:
            whole, micros = whole + 1, micros - 1_000_000
        elif micros < 0:
            whole, micros = whole - 1, micros + 1_000_000
        second = int(whole)
        made_for, prefix = self.made
        if second != made_for:
            prefix = datetime.fromtimestamp(second, timezone.utc).isoformat()[:-6]
            self.made = (second, prefix)
        return f"{prefix}.{micros // 1000:03d}+00:00"


_utc_time = _UtcTime()
#: One encoder for every line: ``json.dumps`` with options makes a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return _json_line(record.created, record.levelname, record.name, record.getMessage(),
                          getattr(record, "fields", None), exception)


def _json_line(created: float, level: str, logger: str, message: str, fields: dict | None,
               exception: str | None = None) -> str:
    """One log line: the record's own members, the current request's, then the caller's."""
    entry = {"time": _utc_time(created), "level": level, "logger": logger, "message": message}
    if has_request_context():
        try:
            entry.update(request_fields())
        except Exception:  # e.g. a body too large to read: the line is still written
            entry["request_id"] = getattr(request, "request_id", None)
    if fields:
        entry.update(fields)
    if exception:
        entry["exception"] = exception
    return _encode(entry)


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


def finish(response):
    """After every response (idp.web): its request id, and the request's line. The request id and
    start time are the request's own (idp.web.request_class)."""
    req = request._get_current_object()
    response.headers["X-Request-ID"] = req.request_id
    if req.endpoint not in QUIET_ENDPOINTS:
        request_line(req.method, _route(req), response.status_code, req.started)
    return response


def request_line(method: str, route: str, status: int, started: float, **fields) -> None:
    """The one line per request. ``fields``: what the formatter cannot find in a request context
    (idp.web.documents answers without one, and passes the request id)."""
    if not log.isEnabledFor(logging.INFO):
        return
    duration = time.perf_counter() - started
    fields.update(method=method, route=route, status=status, duration_ms=round(duration * 1000, 1))
    handlers = _plain_json_handlers()
    if handlers is None:
        log.info("%s %s %s", method, route, status, extra={"fields": fields})
        return
    line = _json_line(time.time(), "INFO", log.name, f"{method} {route} {status}", fields)
    for handler in handlers:
        _write(handler, line)


#: Handlers a request line may be written to without a LogRecord: what configure() sets up (and
#: a log file); any other kind (a test's capture, a handler of an operator's own) gets records.
_PLAIN_STREAMS = (logging.StreamHandler, logging.FileHandler)


def _plain_json_handlers() -> list[logging.Handler] | None:
    """The handlers an INFO record of ``idp.request`` would reach, when every one is a plain
    stream handler with the JSON formatter and nothing on the way filters: the request line is
    then written to them as logging would write it (~half the cost: no LogRecord, no walk through
    the logging machinery, on every request). None: it goes through logging."""
    found = []
    logger = log
    while logger is not None:
        if logger.filters:
            return None
        for handler in logger.handlers:
            if (type(handler) not in _PLAIN_STREAMS or type(handler.formatter) is not JsonFormatter
                    or handler.filters or handler.level > logging.INFO or handler.stream is None):
                return None
            found.append(handler)
        logger = logger.parent if logger.propagate else None
    return found or None  # none at all: logging's last resort decides


def _write(handler: logging.StreamHandler, line: str) -> None:
    """What StreamHandler.emit does with a formatted record, under the handler's lock."""
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except Exception:  # as emit: logging's own error report, never the request's failure
        handler.handleError(logging.makeLogRecord({"name": log.name, "msg": line}))
    finally:
        handler.release()


def _route(req) -> str:
    """The URL rule that matched (``/activeren/<token>``), never the path with its values."""
    return req.url_rule.rule if req.url_rule else "(no route)"
