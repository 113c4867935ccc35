"""Discovery, JWKS and ``/healthz`` answered below Flask, from bytes made once.

These three are asked for far more often than anything else and are the same for everybody: a
relying party's discovery and key refresh, the kubelet's liveness probe. Through Flask each
costs the whole request machinery (session, hooks, routing, response object) for a few hundred
bytes that are already made. This WSGI layer, in front of Flask and ProxyFix, answers them
itself with what Flask answers: the same status, body and headers (ETag and 304, Cache-Control,
the security headers of idp.web.hardening, X-Request-ID), the same Host check, the same JSON
log line and the same Prometheus observation. tests/test_documents.py compares the two.

Only the plain case is answered here: GET or HEAD of exactly that path, no query, no body, no
credentials, a plain Host header (the issuer's, when the Host is checked), and no conditional
header but If-None-Match. Anything else goes on to Flask, which answers it as it always has.
The JWKS is asked of idp.keys for every request, so a key change and its stale-if-error rules
apply here exactly as in the view; when that fails, Flask answers with that error. While
the key cache is fresh (no look at the store or database due) that takes no app context.
"""

import re
import time
from typing import NamedTuple

from werkzeug.http import is_resource_modified

from idp import keys, logs, metrics
from idp.keys import schedule as key_schedule
from idp.web import oauth
from idp.web.hardening import security_headers
from idp.web.trusted_host import EXEMPT_PATHS, expected_host, normalised_host

#: path -> (Flask endpoint, for the metric and the log; answered on any host, as in Flask).
PATHS = {
    "/.well-known/openid-configuration": "oauth.discovery",
    "/jwks": "oauth.jwks",
    "/healthz": "health.healthz",
}
#: A host name or address with an optional port: anything else is Flask's to judge.
PLAIN_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
#: Request headers whose meaning here is Flask's (werkzeug's make_conditional) to work out.
FLASK_ONLY_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_RANGE", "HTTP_IF_MATCH", "HTTP_IF_RANGE",
                      "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_TRANSFER_ENCODING")
JSON = "application/json"
OK, NOT_MODIFIED = "200 OK", "304 NOT MODIFIED"
HEALTHY = b"ok\n"


class _Prepared(NamedTuple):
    """A document's answers, made again only when its body (another object) or max-age changes.
    No Date: the HTTP server adds it (idp.web.oauth.conditional)."""

    body: bytes
    max_age: int
    etag: str  # quoted
    ok: list  # a 200's headers
    not_modified: list  # a 304's


class DocumentLayer:
    """WSGI middleware: the three documents, or the rest of the app (``downstream``)."""

    def __init__(self, app, downstream):
        self.app = app
        self.downstream = downstream
        #: None: no Host check (the embedded default answers on any address, as in Flask).
        self.expected_host = expected_host(app.config)
        https = self.expected_host is not None  # only an https issuer's Host is checked
        self.security = security_headers(https, page=False)
        self.health = [("Content-Type", "text/plain; charset=utf-8"),
                       ("Content-Length", str(len(HEALTHY))), ("Cache-Control", "no-store"),
                       *self.security]
        self.prepared: dict[str, _Prepared] = {}
        self.store = app.extensions["idp.store"]

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        endpoint = self._ours(environ)
        if endpoint is None:
            return self.downstream(environ, start_response)
        try:
            status, headers, body = self._answer(endpoint, environ)
        except Exception:  # e.g. the keys cannot be read: Flask answers, with its error page
            status = None
        if status is None:
            return self.downstream(environ, start_response)
        request_id = logs.request_id_of(environ)
        headers.append(("X-Request-ID", request_id))
        method = environ["REQUEST_METHOD"]
        if method == "HEAD":
            body = b""
        metrics.observe_request(endpoint, time.perf_counter() - started)
        if endpoint not in logs.QUIET_ENDPOINTS:
            logs.request_line(method, environ["PATH_INFO"], int(status[:3]), started,  # = rule
                              request_id=request_id)
        start_response(status, headers)
        return [body]

    def _ours(self, environ) -> str | None:
        """The endpoint this layer answers for this request, or None: Flask's."""
        path = environ.get("PATH_INFO")
        endpoint = PATHS.get(path)
        if (endpoint is None or environ["REQUEST_METHOD"] not in ("GET", "HEAD")
                or environ.get("QUERY_STRING") or environ.get("SCRIPT_NAME")
                or environ.get("CONTENT_LENGTH") not in (None, "", "0")
                or any(name in environ for name in FLASK_ONLY_HEADERS)):
            return None
        host = environ.get("HTTP_HOST", "")
        if not PLAIN_HOST.fullmatch(host):
            return None
        if (self.expected_host is not None and path not in EXEMPT_PATHS
                and normalised_host(host) != self.expected_host):
            return None  # Flask refuses it (idp.web.trusted_host), and logs why
        return endpoint

    def _answer(self, endpoint: str, environ) -> tuple[str, list, bytes]:
        if endpoint == "health.healthz":
            return OK, list(self.health), HEALTHY
        if endpoint == "oauth.discovery":
            document = self.app.extensions.get(oauth.DISCOVERY_KEY)  # where the view keeps it
            if document is None:
                with self.app.app_context():
                    document = oauth.discovery_body_with_etag()
            (body, etag), max_age = document, oauth.DISCOVERY_MAX_AGE
        else:
            fresh = keys.fresh_public_jwks_body_with_etag(self.store.shared)
            if fresh is None:  # the key cache looks at the store or the database: app context
                try:
                    with self.app.app_context():
                        fresh = keys.public_jwks_body_with_etag()
                except Exception as error:
                    # Flask answers; its view raises this rather than reading the keys again
                    # (a hung database would hold the request twice as long).
                    environ[oauth.JWKS_UNREADABLE] = error
                    raise
            body, etag = fresh
            max_age = key_schedule.cache_ttl(self.app.config)
        prepared = self.prepared.get(endpoint)
        if prepared is None or prepared.body is not body or prepared.max_age != max_age:
            prepared = self.prepared[endpoint] = self._prepare(body, etag, max_age)
        # Without If-None-Match the answer is a 200 (_ours left every other condition to Flask).
        if "HTTP_IF_NONE_MATCH" not in environ or is_resource_modified(environ, prepared.etag):
            return OK, list(prepared.ok), prepared.body
        return NOT_MODIFIED, list(prepared.not_modified), b""

    def _prepare(self, body: bytes, etag: str, max_age: int) -> _Prepared:
        """What the view's response holds, in its order."""
        cache = [("Cache-Control", f"public, max-age={max_age}"), ("ETag", f'"{etag}"')]
        return _Prepared(body, max_age, f'"{etag}"',
                         [("Content-Type", JSON), ("Content-Length", str(len(body))), *cache,
                          *self.security],
                         [*cache, *self.security])
