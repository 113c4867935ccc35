"""Discovery, JWKS and /healthz answered below Flask (idp.web.documents): the same answer as
Flask's own for the same request, byte for byte and header for header, the same log line and
metric; and every request that is not the plain case goes on to Flask.

Every other test of these documents (headers, Host check, outages, key changes) goes through the
layer too: it is the app's WSGI callable, and the test client calls that.
"""

import io
import json
import logging

import pytest
from werkzeug.test import EnvironBuilder

from prometheus_client import REGISTRY

from idp import clock, keys
from idp.keys import schedule as key_schedule
from idp.logs import JsonFormatter
from idp.web.documents import DocumentLayer
from tests.security.cases import case

DISCOVERY, JWKS, HEALTHZ = "/.well-known/openid-configuration", "/jwks", "/healthz"
HTTPS = pytest.mark.app_settings(IDP_ISSUER="https://idp.test")


def layer_of(app) -> DocumentLayer:
    assert isinstance(app.wsgi_app, DocumentLayer)
    return app.wsgi_app


def environ(path, method="GET", host="idp.test", scheme="https", headers=None, **overrides):
    built = EnvironBuilder(path=path, method=method, base_url=f"{scheme}://{host}",
                           headers=headers or {}).get_environ()
    built.update(overrides)
    return built


def call(wsgi, env) -> tuple[str, list, bytes]:
    """What a WSGI server would send: status, headers in order, body."""
    sent = {}

    def start_response(status, headers, exc_info=None):
        sent.update(status=status, headers=list(headers))

    answer = wsgi(dict(env), start_response)
    try:
        body = b"".join(answer)
    finally:
        if hasattr(answer, "close"):
            answer.close()
    return sent["status"], sent["headers"], body


def flask_only(layer):
    """The rest of the app behind the layer, counting the requests it is given."""
    calls = []

    def downstream(env, start_response):
        calls.append(env["PATH_INFO"])
        return layer.downstream(env, start_response)

    return downstream, calls


def both(app, env):
    """The layer's answer and Flask's, for the same request; the layer must have answered."""
    layer = layer_of(app)
    downstream, calls = flask_only(layer)
    below = DocumentLayer(app, downstream)
    ours = call(below, env)
    assert calls == [], "the layer passed the request on to Flask"
    return ours, call(layer.downstream, env)


def same_answer(one, other):
    """Equal answers, neither with a Date: the HTTP server adds one (tests/test_gunicorn.py)."""
    assert one == other
    assert "Date" not in dict(one[1])


CONDITIONS = {
    "plain": {},
    "request id": {"X-Request-ID": "rp-42.a_b"},
    "bad request id": {"X-Request-ID": "not one\u00e9"},
    "stale etag": {"If-None-Match": '"0123"'},
    "star": {"If-None-Match": "*"},
}


def _answers_with_their_etags(app, path, method, headers):
    """The conditions, plus the document's own current ETag (strong, weak, in a list)."""
    etag = dict(call(app.wsgi_app, environ(path))[1]).get("ETag")
    cases = dict(CONDITIONS)
    if etag:
        cases.update({"own etag": {"If-None-Match": etag},
                      "weak own etag": {"If-None-Match": "W/" + etag},
                      "in a list": {"If-None-Match": f'"other", {etag}'}})
    return cases


@pytest.mark.parametrize("scheme", ["https", "http"])
@HTTPS
def test_the_layer_answers_as_flask_does(app, scheme):
    for path in (DISCOVERY, JWKS, HEALTHZ):
        for method in ("GET", "HEAD"):
            for name, headers in _answers_with_their_etags(app, path, method, {}).items():
                with case(f"{method} {path} {name} ({scheme})"):
                    env = environ(path, method, scheme=scheme, headers=dict(headers))
                    ours, flasks = both(app, env)
                    if "X-Request-ID" not in headers or name == "bad request id":
                        # A new one each time: the same form, another value.
                        ids = [dict(answer[1])["X-Request-ID"] for answer in (ours, flasks)]
                        assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids), ids
                        ours = ours[0], [h for h in ours[1] if h[0] != "X-Request-ID"], ours[2]
                        flasks = flasks[0], [h for h in flasks[1] if h[0] != "X-Request-ID"], \
                            flasks[2]
                    same_answer(ours, flasks)


def test_the_embedded_default_answers_on_any_plain_host(app):
    for host in ("idp.test", "localhost:5000", "127.0.0.1:8000", "[::1]:5000"):
        for path in (DISCOVERY, JWKS, HEALTHZ):
            with case(f"{host} {path}"):
                env = environ(path, host=host, scheme="http", headers={"X-Request-ID": "a"})
                ours, flasks = both(app, env)
                same_answer(ours, flasks)
                assert ours[0] == "200 OK"


@HTTPS
def test_health_answers_on_any_plain_host_and_the_documents_only_on_ours(app):
    layer = layer_of(app)
    downstream, calls = flask_only(layer)
    below = DocumentLayer(app, downstream)
    assert call(below, environ(HEALTHZ, host="10.1.2.3:8000"))[0] == "200 OK"
    assert calls == []
    for host in ("idp.test", "IDP.TEST", "idp.test:443"):
        assert call(below, environ(DISCOVERY, host=host))[0] == "200 OK"
    assert calls == []
    assert call(below, environ(DISCOVERY, host="evil.test"))[0].startswith("400")
    assert calls == [DISCOVERY]


FALL_THROUGH = {
    "POST": dict(method="POST"),
    "PUT": dict(method="PUT"),
    "lower-case method": dict(method="get"),
    "query": dict(path=DISCOVERY + "?client_id=x"),
    "switch language": dict(path=JWKS + "?lang=en"),
    "trailing slash": dict(path=JWKS + "/"),
    "another path": dict(path="/jwks.json"),
    "mounted elsewhere": dict(SCRIPT_NAME="/idp"),
    "a body": {"CONTENT_LENGTH": "5", "wsgi.input": io.BytesIO(b"hello")},
    "chunked": dict(headers={"Transfer-Encoding": "chunked"}),
    "credentials": dict(headers={"Authorization": "Basic YTpi"}),
    "range": dict(headers={"Range": "bytes=0-10"}),
    "if-match": dict(headers={"If-Match": '"x"'}),
    "if-range": dict(headers={"If-Range": '"x"', "Range": "bytes=0-1"}),
    "if-modified-since": dict(headers={"If-Modified-Since": "Tue, 01 Dec 2026 10:00:00 GMT"}),
    "if-unmodified-since": dict(headers={"If-Unmodified-Since": "Tue, 01 Dec 2026 10:00:00 GMT"}),
    "foreign host": dict(host="evil.test"),
    "issuer host on another port": dict(host="idp.test:8443"),
    "odd host": dict(host="idp.test@evil.test"),
    "no host": dict(HTTP_HOST=""),
}


@HTTPS
@pytest.mark.parametrize("name", FALL_THROUGH)
def test_anything_but_the_plain_case_goes_to_flask(app, name):
    settings = dict(FALL_THROUGH[name])
    path = settings.pop("path", JWKS)
    method = settings.pop("method", "GET")
    headers = {"X-Request-ID": "same", **settings.pop("headers", {})}
    host = settings.pop("host", "idp.test")
    env = environ(path.split("?")[0], method, host=host, headers=headers, **settings)
    if "?" in path:
        env["QUERY_STRING"] = path.split("?", 1)[1]
    layer = layer_of(app)
    downstream, calls = flask_only(layer)
    through_layer = call(DocumentLayer(app, downstream), env)
    assert calls == [env["PATH_INFO"]], "the layer answered itself"
    if "wsgi.input" in env:
        env["wsgi.input"].seek(0)
    same_answer(through_layer, call(layer.downstream, env))


class Lines(logging.Handler):
    """The request log's lines, formatted when written (inside the request, as in production)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


def test_the_same_log_line_as_flask(app):
    logger = logging.getLogger("idp.request")
    level = logger.level
    logger.setLevel(logging.INFO)
    seen = []
    try:
        for wsgi in (app.wsgi_app, layer_of(app).downstream):
            handler = Lines()
            logger.addHandler(handler)
            try:
                call(wsgi, environ(JWKS, "HEAD", scheme="http", headers={"X-Request-ID": "rid-1"}))
                call(wsgi, environ(HEALTHZ, scheme="http", headers={"X-Request-ID": "rid-2"}))
            finally:
                logger.removeHandler(handler)
            for line in handler.lines:
                assert line.pop("duration_ms") >= 0
                line.pop("time")
            seen.append(handler.lines)
    finally:
        logger.setLevel(level)
    assert seen[0] == seen[1] == [{
        "level": "INFO", "logger": "idp.request", "message": "HEAD /jwks 200",
        "request_id": "rid-1", "method": "HEAD", "route": "/jwks", "status": 200,
    }]  # /healthz is a quiet endpoint: no line either way


def test_each_request_is_observed_once_in_the_metrics(app):
    def count(endpoint):
        return REGISTRY.get_sample_value("idp_request_duration_seconds_count",
                                         {"endpoint": endpoint}) or 0

    for path, endpoint in ((DISCOVERY, "oauth.discovery"), (JWKS, "oauth.jwks"),
                           (HEALTHZ, "health.healthz")):
        with case(path):
            before = count(endpoint)
            call(app.wsgi_app, environ(path, scheme="http"))
            assert count(endpoint) == before + 1
            call(layer_of(app).downstream, environ(path, scheme="http"))
            assert count(endpoint) == before + 2


def test_a_revoked_key_leaves_the_layers_jwks_at_once(app, runner):
    def kids(answer):
        return {key["kid"] for key in json.loads(answer[2])["keys"]}

    before = call(app.wsgi_app, environ(JWKS, scheme="http"))
    revoked = sorted(kids(before))[0]
    result = runner.invoke(args=["keys", "revoke", revoked, "--yes"])
    assert result.exit_code == 0, result.output
    after = call(app.wsgi_app, environ(JWKS, scheme="http"))
    assert revoked not in kids(after)
    assert dict(after[1])["ETag"] != dict(before[1])["ETag"]
    same_answer(both(app, environ(JWKS, scheme="http", headers={"X-Request-ID": "r"}))[0],
                  call(layer_of(app).downstream,
                       environ(JWKS, scheme="http", headers={"X-Request-ID": "r"})))


def test_when_the_keys_cannot_be_read_flask_answers_without_reading_them_again(app, monkeypatch):
    reads = []

    def unreadable():
        reads.append(1)
        raise RuntimeError("no keys")

    keys.forget_cache()  # nothing fresh to answer from
    layer = layer_of(app)
    downstream, calls = flask_only(layer)
    monkeypatch.setattr(keys, "public_jwks_body_with_etag", unreadable)
    env = environ(JWKS, scheme="http", headers={"X-Request-ID": "same"})
    answer = call(DocumentLayer(app, downstream), env)
    assert calls == [JWKS]
    assert len(reads) == 1  # the layer's; Flask's view answers with that error
    assert answer[0].startswith("500")
    assert answer == call(layer.downstream, env)
    assert len(reads) == 2


def test_a_fresh_jwks_is_answered_without_an_app_context(app, monkeypatch):
    """While the key cache is fresh the layer answers the JWKS from it without an app context;
    once its time is up (or, with Redis, a look at the key-set version is due), through idp.keys
    in an app context, as the view does."""
    first = call(app.wsgi_app, environ(JWKS, scheme="http", headers={"X-Request-ID": "r"}))
    layer = layer_of(app)
    pushed = []
    app_context = app.app_context

    def counted_app_context():
        pushed.append(1)
        return app_context()

    monkeypatch.setattr(app, "app_context", counted_app_context)
    shared = app.extensions["idp.store"].shared
    again = call(layer, environ(JWKS, scheme="http", headers={"X-Request-ID": "r"}))
    same_answer(again, first)
    if not shared:
        assert pushed == []
    else:  # a look at the version may have come due since: then one app context, no more
        assert len(pushed) <= 1
        pushed.clear()
        call(layer, environ(JWKS, scheme="http"))
        assert pushed == []
    clock.freeze(clock.now() + key_schedule.cache_ttl(app.config) + 1)
    after = call(layer, environ(JWKS, scheme="http", headers={"X-Request-ID": "r"}))
    assert pushed == [1]  # the cache's time was up: read again, in an app context
    same_answer(after, first)


def test_the_fresh_jwks_is_what_the_key_store_answers(app):
    shared = app.extensions["idp.store"].shared
    assert keys.fresh_public_jwks_body_with_etag(shared) is None  # nothing read yet
    with app.app_context():
        served = keys.public_jwks_body_with_etag()
    assert keys.fresh_public_jwks_body_with_etag(shared) == served  # (Redis: just looked)
    clock.freeze(clock.now() + key_schedule.cache_ttl(app.config) + 1)
    assert keys.fresh_public_jwks_body_with_etag(shared) is None
