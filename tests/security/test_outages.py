"""Threat: losing Redis or the database for a while. The service must fail closed (nothing that
needs the lost service succeeds without it, no replay or single-use check is skipped), answer
people with a Dutch page and clients with an RFC 6749 error, never a stack trace, leave nothing
half done, and recover by itself when the service returns, without a restart.

Each test has a Redis of its own (tests/redis_server.py) that it stops, starts again on the same
port, or freezes. The database tests take away a database the test created itself."""

import contextlib
import threading
import time

import psycopg
import pytest
from sqlalchemy import func, select, update

from idp import clock, create_app, keys, sessions, worker
from idp import database as database_module
from idp.sessions import signin
from idp.outages import DATABASE_DOWN
from idp.store import StoreUnavailable
from idp.extensions import db
from idp.keys import lifecycle
from idp.keys import version as key_version
from idp.models import Account, AuthorizationCode, Grant, RefreshToken, SigningKey
from idp.oauth import records
from tests import conftest, pages
from tests.actors import PASSWORD, Parent, RelyingParty, authenticator_code
from tests.processes import WebProcess, environment, free_port, worker_process
from tests.redis_server import RedisServer
from tests.test_multi_process import sign_in as sign_in_over_http
from tests.test_keys_two_processes import within
from tests.test_multi_process import token_request
from tests.test_oidc_flow import sign_in_at

OUTAGE_PAGE = ("Door een storing aan onze kant kunnen wij dit nu niet afhandelen. Er is niets "
               "opgeslagen of veranderd. Probeer het over een paar minuten opnieuw.")
TEMPORARILY_UNAVAILABLE = {"error": "temporarily_unavailable"}
SERVER_ERROR = {"error": "server_error"}
#: Words that would give away a stack trace or an internal error in a body.
INTERNALS = ("Traceback", "Error", "redis", "Redis", "psycopg", "sqlalchemy", "SELECT", "UPDATE")


# --- fixtures: the app on a Redis (and optionally a database) of the test's own ---------------
@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()  # also when the test failed: no redis-server is left behind


@pytest.fixture
def database(request, postgres_url):
    """The run's PostgreSQL database, or (``indirect`` param "own") one made for this test
    alone, which the test may take away: only this database is ever touched."""
    if getattr(request, "param", None) != "own":
        yield postgres_url
        return
    with conftest.scratch_database("outage") as url:
        conftest._migrate_and_key({**conftest.BASE_SETTINGS, "IDP_DATABASE_URL": url})
        yield url


@pytest.fixture
def app(request, backend, database, postgres_url, redis_server, smtp_server, tmp_path):
    """Replaces conftest's ``app``: PostgreSQL and SMTP as there, but Redis of this test (and,
    as there, the settings of an ``app_settings`` marker)."""
    controller, inbox = smtp_server
    inbox.messages.clear()
    clock.unfreeze()
    keys.forget_cache()  # the signing keys are cached per process, and databases differ
    marker = request.node.get_closest_marker("app_settings")
    application = create_app({
        **conftest.BASE_SETTINGS,
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"),
        "IDP_DATABASE_URL": database,
        "IDP_REDIS_URL": redis_server.url,
        "IDP_REDIS_TIMEOUT": 1,
        "IDP_SMTP_URL": f"smtp://127.0.0.1:{controller.port}",
        **(marker.kwargs if marker else {}),
    })
    yield application
    clock.unfreeze()
    keys.forget_cache()
    application.extensions["idp.store"].close()
    if database == postgres_url:
        conftest._empty_tables(application)
    else:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@contextlib.contextmanager
def cut_off(database: str):
    """The test's own database refuses every connection, its open ones are ended; back after."""
    name = database.rsplit("/", 1)[1]
    with psycopg.connect(conftest.PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                      [name])
    try:
        yield
    finally:
        with psycopg.connect(conftest.PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def kids(browser) -> set[str]:
    return {key["kid"] for key in browser.get("/jwks").get_json()["keys"]}


def counts(app) -> dict:
    """What a sign-in and a token request write: nothing of it may appear during an outage."""
    with app.app_context():
        found = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                 for model in (Grant, AuthorizationCode, RefreshToken)}
        found["totp_last_step"] = db.session.scalar(select(Account.totp_last_step))
        db.session.remove()
        return found


def assert_outage_page(response):
    body = response.get_data(as_text=True)
    assert response.status_code == 503, pages.text(body)[:300]
    assert response.mimetype == "text/html"
    assert OUTAGE_PAGE in pages.text(body)
    assert not any(word in pages.text(body) for word in INTERNALS)
    assert "Set-Cookie" not in response.headers  # the browser session stays as it was


def assert_client_error(response, expected=TEMPORARILY_UNAVAILABLE):
    assert (response.status_code, response.get_json()) == (503, expected)
    assert response.headers["Cache-Control"] == "no-store"


def open_sign_in_page(browser, rp) -> tuple[str, dict]:
    """A parent starts signing in at a relying party: the sign-in page is on the screen."""
    page = browser.get(rp.authorization_url())
    assert page.status_code == 200
    form = pages.forms(page.get_data(as_text=True))[0]
    assert form["action"].startswith("/inloggen?flow=")
    return form["action"], dict(form["fields"])


def code_by_sso(rp, parent, **params) -> str:
    """Another authorization request of the signed-in parent: a code at once."""
    return rp.callback_params(parent.browser.get(rp.authorization_url(**params)))["code"]


def fill_in(form: dict, code: str) -> dict:
    return {**form, "organisation": "PO2806", "username": "Yvonne.testouder",
            "password": PASSWORD, "code": code}


# --- Redis stops and starts again (its data lost) during a sign-in ---------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_sign_in_interrupted_by_a_redis_outage_is_refused_then_succeeds_after_it(
        app, world, mailbox, redis_server):
    parent, rp = world
    used_code = authenticator_code(parent.secret)  # the code of the sign-in below
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    assert rp.userinfo(tokens["access_token"]).status_code == 200

    clock.advance(30)
    browser = app.test_client()  # the parent again, on another device
    other_rp = RelyingParty(browser, rp.client_id, rp.client_secret, rp.redirect_uri)
    login_url, form = open_sign_in_page(browser, other_rp)
    fresh_code = authenticator_code(parent.secret)
    before = counts(app)

    redis_server.stop()
    # Every step of the sign-in: the Dutch page, and nothing done.
    assert_outage_page(browser.post(login_url, data=fill_in(form, fresh_code)))
    assert_outage_page(browser.get(login_url))
    assert_outage_page(browser.get(other_rp.authorization_url()))
    newcomer = app.test_client()  # no browser session yet: it is the saving that fails
    assert_outage_page(newcomer.get("/inloggen"))
    assert_outage_page(newcomer.get(other_rp.authorization_url()))
    assert_outage_page(newcomer.get("/activeren/" + "a" * 43))
    assert_outage_page(parent.browser.get("/"))  # the signed-in parent's own page
    # Clients: a session-bound token cannot be checked, so it is not accepted.
    assert_client_error(rp.userinfo(tokens["access_token"]))
    assert_client_error(rp.refresh(tokens["refresh_token"]))
    assert_client_error(rp.introspect(tokens["access_token"]))
    # What needs no Redis keeps working; readiness says to send traffic elsewhere.
    assert app.test_client().get("/jwks").status_code == 200
    assert app.test_client().get("/.well-known/openid-configuration").status_code == 200
    assert app.test_client().get("/healthz").status_code == 200
    assert app.test_client().get("/readyz").status_code == 503
    assert counts(app) == before  # no code, no token, the fresh code not used up

    redis_server.start()  # the same port, empty: the app is not restarted
    assert app.test_client().get("/readyz").status_code == 200
    # The flow waiting on the screen was lost with Redis' data: the parent starts again.
    assert browser.post(login_url, data=fill_in(form, fresh_code)).status_code == 400
    # The sessions were lost too: their tokens stop working (fail closed), and say so.
    refused = rp.userinfo(tokens["access_token"])
    assert refused.status_code == 401 and "invalid_token" in refused.headers["WWW-Authenticate"]
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"

    login_url, form = open_sign_in_page(browser, other_rp)
    replayed = browser.post(login_url, data=fill_in(form, used_code))
    assert replayed.status_code == 400  # a code accepted before the outage stays used
    signed_in = browser.post(login_url, data=fill_in(form, fresh_code))
    assert signed_in.status_code == 302
    code = other_rp.callback_params(signed_in)["code"]
    fresh = other_rp.exchange(code)
    assert fresh.status_code == 200
    assert other_rp.userinfo(fresh.get_json()["access_token"]).status_code == 200
    assert other_rp.exchange(code).get_json()["error"] == "invalid_grant"  # still single use


# --- Redis hangs (no answer at all) and comes back with its data -----------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_hung_redis_gives_a_quick_503_and_the_sessions_live_on_after_it(
        app, world, client, make_client, redis_server):
    parent, rp = world
    kept = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    revoked = rp.exchange(code_by_sso(rp, parent)).get_json()  # a second grant
    waiting_code = code_by_sso(rp, parent)  # issued just before the outage
    offline_client = make_client(name="Archief", redirect_uris=("https://archief.test/cb",),
                                 allow_offline_access=True)
    archive = RelyingParty(client, offline_client["client_id"], offline_client["client_secret"],
                           offline_client["redirect_uri"])
    offline = archive.exchange(code_by_sso(archive, parent, scope="openid offline_access"))
    offline = offline.get_json()

    redis_server.pause()
    for request in (lambda: parent.browser.get("/"),
                    lambda: rp.userinfo(kept["access_token"]),
                    lambda: rp.refresh(kept["refresh_token"])):
        started = time.monotonic()
        response = request()
        assert response.status_code == 503
        assert time.monotonic() - started < 1 + 2  # IDP_REDIS_TIMEOUT, once: no worker timeout
    # Taking access away needs no Redis: revocation works, and is never refused.
    assert rp.revoke(revoked["refresh_token"]).status_code == 200
    # A code is exchanged only while its sign-in session lives, which needs Redis: fail closed,
    # and the code is not used up by the refusal.
    refused = rp.exchange(waiting_code)
    assert refused.status_code == 503 and refused.get_json()["error"] == "temporarily_unavailable"
    # An offline_access token is not bound to the session: its refresh needs no Redis.
    assert archive.refresh(offline["refresh_token"]).status_code == 200

    redis_server.resume()
    assert rp.exchange(waiting_code).status_code == 200
    assert rp.exchange(waiting_code).get_json()["error"] == "invalid_grant"
    assert rp.userinfo(kept["access_token"]).status_code == 200  # its session is still there
    assert rp.refresh(kept["refresh_token"]).status_code == 200
    assert rp.userinfo(revoked["access_token"]).status_code == 401
    assert rp.refresh(revoked["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert "U bent ingelogd" in pages.text(parent.browser.get("/").get_data(as_text=True))


# --- Redis goes away in the middle of a request -------------------------------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_redis_lost_mid_sign_in_rolls_the_whole_request_back(
        app, world, redis_server, monkeypatch):
    parent, rp = world
    login_url, form = open_sign_in_page(parent.browser, rp)
    code = authenticator_code(parent.secret)
    before = counts(app)
    cookie_before = parent.browser.get_cookie("idp", domain="idp.test").value

    save = signin._save

    def save_while_redis_hangs(signin):
        redis_server.pause()  # password and code were checked; the session cannot be made
        save(signin)

    monkeypatch.setattr(signin, "_save", save_while_redis_hangs)
    assert_outage_page(parent.browser.post(login_url, data=fill_in(form, code)))
    monkeypatch.undo()
    redis_server.resume()

    # The code's use was rolled back with the rest, and the browser session was not replaced:
    # the parent is not signed in, and can sign in with the code the app still shows.
    assert counts(app) == before
    assert parent.browser.get_cookie("idp", domain="idp.test").value == cookie_before
    assert parent.browser.get("/").status_code == 302
    signed_in = parent.browser.post(login_url, data=fill_in(form, code))
    assert signed_in.status_code == 302
    assert parent.browser.post(login_url, data=fill_in(form, code)).status_code == 400


# --- the worker -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_the_worker_skips_its_rounds_during_an_outage_and_catches_up_after_it(
        app, world, redis_server, caplog):
    parent, rp = world
    app.config["IDP_WORKER_INTERVAL"] = 0.2
    stop = worker.start_thread(app)
    try:
        redis_server.stop()
        deadline = time.monotonic() + 10
        while "worker round skipped: ConnectionError" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text[-2000:]
            time.sleep(0.1)
        assert "worker round failed" not in caplog.text  # expected, so no traceback
        redis_server.start()  # empty: the claim script must be loaded again by itself

        tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
        with app.app_context():
            assert sessions.count() == 1
        clock.advance(app.config["IDP_SESSION_IDLE_TTL"] + 1)  # the parent walks away
        deadline = time.monotonic() + 10
        while True:  # nobody comes back: only the worker can end the session
            with app.app_context():
                if sessions.count() == 0:
                    break
            assert time.monotonic() < deadline, caplog.text[-2000:]
            time.sleep(0.1)
        assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    finally:
        stop.set()
        for thread in threading.enumerate():
            if thread.name == "idp-worker":
                thread.join(10)  # its round ends before the app is taken down


# --- real gunicorn workers and the worker process --------------------------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_gunicorn_and_the_worker_process_ride_out_a_redis_restart(
        app, tmp_path, client, mailbox, make_org, make_client, invite, redis_server,
        logout_receiver):
    import requests

    make_org(requires_2fa=False)
    rp = make_client(redirect_uris=("http://127.0.0.1/cb",),
                     backchannel_logout_uri=logout_receiver.uri)
    invite()
    Parent(client, mailbox).activate()
    env = environment(app, tmp_path, IDP_ISSUER="http://lb.invalid", IDP_SESSION_IDLE_TTL=4,
                      IDP_WORKER_INTERVAL=1, IDP_REDIS_TIMEOUT=1, IDP_METRICS_PORT=free_port())
    processes = []
    try:
        web = WebProcess(env, tmp_path / "web.log")
        processes.append(web)
        worker_proc = worker_process(env, tmp_path / "worker.log")
        processes.append(worker_proc)
        browser = requests.Session()
        before = token_request(web, rp, grant_type="authorization_code",
                               redirect_uri=rp["redirect_uri"],
                               **_code_and_verifier(sign_in_over_http(_Browser(browser), web, web, rp)))
        assert before.status_code == 200
        login_page = browser.get(web.url + "/inloggen")
        form = pages.form_fields(login_page.text)

        redis_server.stop()
        for _ in range(4):  # both gunicorn workers, each with its pooled connections
            refused = browser.post(web.url + "/inloggen", data={**form, "organisation": "PO2806",
                                   "username": "Yvonne.testouder", "password": PASSWORD},
                                   allow_redirects=False)
            assert refused.status_code == 503 and OUTAGE_PAGE in pages.text(refused.text)
            assert not any(word in refused.text for word in INTERNALS)
            userinfo = requests.get(web.url + "/userinfo", headers={
                "Authorization": "Bearer " + before.json()["access_token"]})
            assert (userinfo.status_code, userinfo.json()) == (503, TEMPORARILY_UNAVAILABLE)
            assert requests.get(web.url + "/jwks").status_code == 200
            assert requests.get(web.url + "/healthz").status_code == 200
            assert requests.get(web.url + "/readyz").status_code == 503
        deadline = time.monotonic() + 60  # a process of its own: slow on a busy machine
        while "worker round skipped" not in worker_proc.log.read_text():
            assert time.monotonic() < deadline, worker_proc.log.read_text()[-2000:]
            time.sleep(0.2)
        assert worker_proc.popen.poll() is None  # still running

        redis_server.start()
        for _ in range(4):
            assert requests.get(web.url + "/readyz").status_code == 200
        fresh = requests.Session()
        answer = sign_in_over_http(_Browser(fresh), web, web, rp)
        tokens = token_request(web, rp, grant_type="authorization_code",
                               redirect_uri=rp["redirect_uri"], **_code_and_verifier(answer))
        assert tokens.status_code == 200
        # The worker process recovered too: the new session runs idle, and it says so.
        deadline = time.monotonic() + 60
        while not logout_receiver.tokens:
            assert time.monotonic() < deadline, worker_proc.log.read_text()[-2000:]
            time.sleep(0.2)
        for process in (web, worker_proc):
            assert "Traceback" not in process.log.read_text()
    finally:
        for process in processes:
            process.stop()


class _Browser:
    """tests.test_multi_process.sign_in's browser, on a given requests session."""

    def __init__(self, http):
        self.http = http

    def post(self, instance, path, data):
        return self.http.post(instance.url + path, data=data, allow_redirects=False)


def _code_and_verifier(answer: dict) -> dict:
    return {"code": answer["code"], "code_verifier": answer["verifier"]}


# --- the database ------------------------------------------------------------------------------
def test_without_a_database_people_get_the_outage_page_and_clients_server_error(tmp_path, caplog):
    keys.forget_cache()  # a fresh process: no signing keys read yet
    app = create_app({**conftest.BASE_SETTINGS, "IDP_INSTANCE_DIR": str(tmp_path),
                      "IDP_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/idp"})
    browser = app.test_client()
    try:
        assert_outage_page(browser.get("/inloggen"))
        assert_outage_page(browser.post("/inloggen", data={"organisation": "PO2806"}))
        assert_outage_page(browser.get("/authorize?client_id=abc&response_type=code"))
        assert_outage_page(browser.get("/activeren/" + "a" * 43, follow_redirects=True))
        assert_client_error(browser.post("/token", data={"grant_type": "authorization_code",
                            "code": "x", "client_id": "abc"}), SERVER_ERROR)
        assert_client_error(browser.post("/revoke", data={"token": "x", "client_id": "abc"}),
                            SERVER_ERROR)
        assert_client_error(browser.get("/jwks"), SERVER_ERROR)  # the keys are in the database
        assert browser.get("/.well-known/openid-configuration").status_code == 200
        assert browser.get("/healthz").status_code == 200
        assert browser.get("/readyz").status_code == 503
        assert "database unavailable on GET /inloggen: OperationalError" in caplog.text
        assert "SELECT" not in caplog.text  # the driver's reason, never the statement
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("database", ["own"], indirect=True)
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_database_lost_mid_token_request_keeps_nothing_and_recovers(app, world, database):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    verifier = rp.verifier
    assert app.test_client().get("/jwks").status_code == 200  # the keys are read, and cached
    before = counts(app)

    def terminate_after_the_code_is_consumed(record, _consume=records.consume):
        consumed = _consume(record)  # the UPDATE ran, in the request's transaction
        pid = db.session.connection().connection.dbapi_connection.info.backend_pid
        with psycopg.connect(conftest.PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return consumed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(records, "consume", terminate_after_the_code_is_consumed)
        assert_client_error(rp.exchange(code), SERVER_ERROR)
    assert counts(app) == before  # the code's use died with the transaction: not half used

    with cut_off(database):
        assert_client_error(rp.exchange(code, verifier), SERVER_ERROR)
        assert_outage_page(parent.browser.get("/"))
        assert_outage_page(parent.browser.get(rp.authorization_url()))
        assert app.test_client().get("/readyz").status_code == 503
        assert app.test_client().get("/healthz").status_code == 200
        assert app.test_client().get("/jwks").status_code == 200  # from the key cache

    assert app.test_client().get("/readyz").status_code == 200
    tokens = rp.exchange(code, verifier)  # never redeemed, so it still works: once
    assert tokens.status_code == 200
    assert rp.userinfo(tokens.get_json()["access_token"]).status_code == 200
    assert rp.exchange(code, verifier).get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("database", ["own"], indirect=True)
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_database_restart_between_requests_costs_no_request(app, world, database, monkeypatch,
                                                               caplog):
    """A restart (a fast shutdown ends every backend, as here) breaks the idle pooled
    connections; the next requests are answered on new ones, none fails (idp.database)."""
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    with app.app_context():
        assert db.engine.pool.checkedin() >= 1  # a pooled connection the restart will break
    found_gone = []
    monkeypatch.setattr(database_module, "_has_gone",
                        lambda connection, _check=database_module._has_gone:
                        found_gone.append(_check(connection)) or found_gone[-1])
    name = database.rsplit("/", 1)[1]
    with psycopg.connect(conftest.PG_ADMIN_URL, autocommit=True) as admin:
        pids = [row[0] for row in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name])]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert within(10, lambda: admin.execute(  # gone: their sockets are closed
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]).fetchone()[0] == 0)

    tokens = rp.exchange(code)
    assert tokens.status_code == 200
    assert True in found_gone  # the broken connection was seen and replaced, not used
    assert rp.refresh(tokens.get_json()["refresh_token"]).status_code == 200
    assert parent.browser.get("/").status_code == 200
    assert "unavailable" not in caplog.text


# --- a statement stuck in the database (IDP_DATABASE_STATEMENT_TIMEOUT) -----------------------
@pytest.mark.app_settings(IDP_DATABASE_STATEMENT_TIMEOUT=1)
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_statement_stuck_behind_a_lock_ends_as_a_503_at_the_statement_timeout(
        app, world, database, caplog):
    """Another transaction holds a lock (a long operator UPDATE, a migration waiting): a request
    that needs it waits no longer than the statement timeout, then gets the outage answer with
    nothing done, and once the lock is gone the same request succeeds. granian, the image's
    server, has no worker timeout: this is what frees the thread."""
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    verifier = rp.verifier
    before = counts(app)
    newcomer = app.test_client()
    with psycopg.connect(database.replace("+psycopg", "")) as holder:
        holder.execute("SELECT 1 FROM authorization_code FOR UPDATE")  # the code's row
        started = time.monotonic()
        assert_client_error(rp.exchange(code, verifier), SERVER_ERROR)
        assert 1 <= time.monotonic() - started < 5  # PostgreSQL gave up after 1 s
        # A lock that stops even reads: the sign-in page's list of organisations.
        holder.execute("LOCK TABLE organisation IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        assert_outage_page(newcomer.get(rp.authorization_url()))
        assert 1 <= time.monotonic() - started < 5
    # The log says why, never the statement.
    assert "database unavailable on POST /token: QueryCanceled" in caplog.text
    assert "statement timeout" in caplog.text and "SELECT" not in caplog.text
    assert counts(app) == before  # the code was not used up

    assert newcomer.get(rp.authorization_url()).status_code == 200
    tokens = rp.exchange(code, verifier)  # the same code, now that the lock is gone
    assert tokens.status_code == 200, tokens.get_json()
    assert rp.userinfo(tokens.get_json()["access_token"]).status_code == 200


# --- signing keys: Redis carries the news of a key change ------------------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_with_redis_down_a_key_change_is_read_from_the_database_within_a_second(
        app, redis_server):
    """Fail closed: a cache the store cannot vouch for is not trusted for the cache TTL (30 s);
    the keys are read from the database once a second instead."""
    browser = app.test_client()
    before = kids(browser)
    redis_server.stop()
    with app.app_context():  # another process revokes, and cannot tell anyone through Redis
        kid = keys.key_in_state("ES256", "next").kid
        db.session.execute(update(SigningKey).where(SigningKey.kid == kid)
                           .values(state="revoked", revoked_at=clock.timestamp()))
        db.session.commit()
    assert kid in before
    assert within(key_version.CHECK_INTERVAL + 2, lambda: kid not in kids(browser))


# --- back-channel logouts owed when a session ends ---------------------------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_redis_hanging_right_after_a_logout_loses_no_back_channel_logout(
        app, world, make_client, logout_receiver, redis_server, monkeypatch):
    parent, plain_rp = world
    made = make_client(name="Dossier", redirect_uris=("https://dossier.test/cb",),
                       backchannel_logout_uri=logout_receiver.uri)
    rp = RelyingParty(plain_rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    id_token = rp.validate_id_token(tokens["id_token"])
    the_store = app.extensions["idp.store"]
    queued = the_store.move_and_schedule

    def redis_hangs_after_the_end(*args, **kwargs):
        taken = queued(*args, **kwargs)  # the session's end and its logouts: one script
        redis_server.pause()
        return taken

    monkeypatch.setattr(the_store, "move_and_schedule", redis_hangs_after_the_end)
    assert_outage_page(parent.log_out())
    monkeypatch.undo()
    with app.app_context():  # the worker's round during the outage: skipped, nothing lost
        with pytest.raises(StoreUnavailable):
            worker.run_once()
    redis_server.resume()

    rounds = []
    with app.app_context():
        for _ in range(3):
            rounds.append(worker.run_once()["logouts_delivered"])
    assert rounds == [1, 0, 0] and len(logout_receiver.tokens) == 1  # delivered, never twice
    assert rp.verify_logout_token(logout_receiver.tokens[0])["sid"] == id_token["sid"]


# --- the JWKS through a database outage --------------------------------------------------------
@pytest.mark.parametrize("database", ["own"], indirect=True)
@pytest.mark.parametrize("backend", ["postgres"])
def test_the_jwks_is_served_as_last_read_through_a_database_outage_longer_than_the_cache(
        app, database):
    """No key can change while the database is down, so the last JWKS read still holds (and
    relying parties that restart can verify what they hold); signing waits for the database; a
    key change announced in Redis meanwhile ends that (fail closed)."""
    browser = app.test_client()
    before = browser.get("/jwks")
    assert before.status_code == 200
    with cut_off(database):
        clock.advance(app.config["IDP_KEYS_CACHE_TTL"] + 1)  # the cached keys are due again
        during = browser.get("/jwks")
        assert during.status_code == 200
        assert (during.get_data(), during.headers["ETag"]) == (before.get_data(),
                                                               before.headers["ETag"])
        assert browser.get("/.well-known/openid-configuration").status_code == 200
        assert browser.get("/readyz").status_code == 503
        with app.app_context():
            for alg in keys.SUPPORTED_ALGS:  # never signs with a set it could not read again
                with pytest.raises(DATABASE_DOWN):
                    keys.signing_key(alg)
            with pytest.raises(DATABASE_DOWN):
                keys.verification_keys()
            # Another replica announces a key change (say it got through just before the
            # outage): the last set read is no longer known to hold, so it is not served.
            app.extensions["idp.store"].set(key_version.KEY, "changed elsewhere", 60)
        assert within(key_version.CHECK_INTERVAL + 2,
                      lambda: browser.get("/jwks").status_code != 200)  # nobody vouches for it
        assert_client_error(browser.get("/jwks"), SERVER_ERROR)

    assert browser.get("/readyz").status_code == 200
    after = browser.get("/jwks")
    assert after.status_code == 200 and after.get_data() == before.get_data()


@pytest.mark.parametrize("database", ["own"], indirect=True)
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_key_change_announced_while_the_database_is_down_stops_the_signing(app, database):
    """Another replica revoked a key and said so in Redis just before the database went away:
    once this process has seen the news it does not sign with the set it read before, not even
    between two looks at the version, until it has read the keys again."""
    with app.app_context():
        keys.signing_key("ES256")  # read, under the store's current version

    def refused() -> bool:
        try:
            keys.signing_key("ES256")
        except DATABASE_DOWN:
            return True
        return False

    with cut_off(database), app.app_context():
        app.extensions["idp.store"].set(key_version.KEY, "changed elsewhere", 60)
        assert within(key_version.CHECK_INTERVAL + 2, refused)  # the news is seen
        assert refused()  # and the set read before it stays untrusted


@pytest.mark.parametrize("database", ["own"], indirect=True)
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_retired_key_leaves_the_stale_jwks_on_time(app, database):
    """The last key set read is not frozen in time: a retired key still leaves the JWKS at
    its removal time, database or not."""
    ttl = app.config["IDP_KEYS_CACHE_TTL"]
    clock.freeze(clock.now() + 2 * ttl + 1)  # the suite's next keys are ready to sign
    with app.app_context():
        [rotated] = lifecycle.rotate("test", ("RS256",))
        db.session.remove()
    browser = app.test_client()
    assert {rotated.retired_kid, rotated.active_kid} <= kids(browser)
    with cut_off(database):
        clock.advance(ttl + 1)
        assert {rotated.retired_kid, rotated.active_kid} <= kids(browser)  # served as last read
        clock.freeze(rotated.retired_removed_at)
        assert rotated.retired_kid not in kids(browser)
        assert rotated.active_kid in kids(browser)
