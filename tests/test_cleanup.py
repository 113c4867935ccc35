"""The clean-up of expired rows (idp.cleanup): what goes, what must stay and why, run by the
worker at most once per interval, by ``idp cleanup`` at once, and by two at the same time."""

import logging
import threading
import uuid

import pytest
from sqlalchemy import event, func, select

from idp import cleanup, clock, create_app, keys, worker
from idp.extensions import db
from idp.models import (Account, AccountLink, Activation, AuthorizationCode, Grant,
                        RefreshToken)
from tests import pages
from tests.actors import PASSWORD, RelyingParty
from tests.test_oidc_flow import sign_in_at
from tests.test_operations import sample

DAY = 24 * 3600
#: With the default lifetimes: max(access token 300 s, ID token 300 s) + slack 300 s.
RETENTION = 600
MODELS = {"authorization_code": AuthorizationCode, "refresh_token": RefreshToken,
          "grant": Grant, "activation": Activation, "account_link": AccountLink}


def run(app) -> dict[str, int]:
    with app.app_context():
        return cleanup.run()


def count(app, table: str, **where) -> int:
    model = MODELS[table]
    with app.app_context():
        query = select(func.count()).select_from(model).filter_by(**where)
        return db.session.scalar(query)


def one(app, model, **where):
    with app.app_context():
        return db.session.scalars(select(model).filter_by(**where)).one()


def removed(**counts) -> dict[str, int]:
    return {table: counts.get(table, 0) for table in MODELS}


@pytest.fixture
def offline_rp(world, make_client):
    """The parent of ``world`` and a relying party granted offline_access: its tokens do not
    depend on the sign-in session, so a test can wait hours without the session ending them."""
    parent, plain_rp = world
    made = make_client(name="Offline", redirect_uris=("https://offline.test/cb",),
                       allow_offline_access=True)
    rp = RelyingParty(plain_rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])
    return parent, rp


def test_retention_covers_the_longest_token_the_grant_could_issue(app):
    assert cleanup.retention(app.config) == RETENTION
    longer = {**app.config, "IDP_ID_TOKEN_TTL": 3600}
    assert cleanup.retention(longer) == 3600 + cleanup.SLACK


# --- authorization codes ----------------------------------------------------------------------
def test_an_expired_code_goes_after_the_retention_and_a_live_one_stays(app, world, caplog):
    parent, rp = world
    sign_in_at(rp, parent)  # a code the relying party never exchanges
    old = one(app, AuthorizationCode)
    clock.freeze(old.expires_at + RETENTION)
    assert run(app) == removed()  # the last second it is kept
    clock.advance(1)
    fresh = sign_in_at(rp, parent)["code"]  # the session ended meanwhile: a new sign-in
    with caplog.at_level(logging.INFO, logger="idp.cleanup"):
        assert run(app) == removed(authorization_code=1, grant=1)
    assert count(app, "authorization_code", id=old.id) == 0
    assert count(app, "grant", id=old.grant_id) == 0
    assert rp.exchange(fresh).status_code == 200  # the live code was left alone
    assert "cleanup removed 1 authorization_code, 1 grant" in caplog.messages


def test_a_used_code_goes_too(app, offline_rp):
    parent, rp = offline_rp
    tokens = rp.exchange(sign_in_at(rp, parent, scope="openid offline_access")["code"]).get_json()
    code = one(app, AuthorizationCode)
    clock.freeze(code.expires_at + RETENTION + 1)
    # The grant stays: its refresh token (12 h) is still there.
    assert run(app) == removed(authorization_code=1)
    assert count(app, "grant", id=code.grant_id) == 1
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


# --- refresh tokens -----------------------------------------------------------------------------
def test_a_used_refresh_token_stays_until_it_expires_and_its_replay_still_revokes(app, offline_rp):
    parent, rp = offline_rp
    first = rp.exchange(sign_in_at(rp, parent, scope="openid offline_access")["code"]).get_json()
    clock.advance(100)
    second = rp.refresh(first["refresh_token"]).get_json()  # the first is now used
    used = one(app, RefreshToken, used_at=clock.timestamp())
    clock.freeze(used.expires_at - 1)  # used, but not expired
    assert run(app) == removed(authorization_code=1)  # only the code, long expired
    assert count(app, "refresh_token", id=used.id) == 1
    # Presenting the used one is still a reuse: the whole grant is revoked.
    assert rp.refresh(first["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.refresh(second["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_an_expired_refresh_token_goes_after_the_retention(app, offline_rp):
    parent, rp = offline_rp
    first = rp.exchange(sign_in_at(rp, parent, scope="openid offline_access")["code"]).get_json()
    clock.advance(2 * RETENTION)  # so the second outlives the first's retention
    second = rp.refresh(first["refresh_token"]).get_json()
    used = one(app, RefreshToken, used_at=clock.timestamp())
    clock.freeze(used.expires_at + RETENTION)
    assert run(app) == removed(authorization_code=1)
    clock.advance(1)
    assert run(app) == removed(refresh_token=1)
    assert count(app, "refresh_token", id=used.id) == 0
    assert count(app, "grant", id=used.grant_id) == 1  # the newer refresh token keeps it
    assert rp.refresh(second["refresh_token"]).status_code == 200


# --- grants: never under an access token that still works ---------------------------------------
# A refresh token shorter-lived than the access token makes the danger visible: a rule of "no
# code or refresh token left" alone would remove the grant while the access token still works.
@pytest.mark.parametrize("access_ttl", [
    pytest.param(300, marks=pytest.mark.app_settings(IDP_REFRESH_TOKEN_TTL=60)),
    pytest.param(1800, marks=pytest.mark.app_settings(IDP_REFRESH_TOKEN_TTL=60,
                                                      IDP_ACCESS_TOKEN_TTL=1800)),
])
def test_a_grant_stays_while_an_access_token_of_it_can_work_and_goes_after(
        app, offline_rp, access_ttl):
    parent, rp = offline_rp
    retention = access_ttl + cleanup.SLACK
    assert cleanup.retention(app.config) == retention
    code = sign_in_at(rp, parent, scope="openid offline_access")["code"]
    stored = one(app, AuthorizationCode)
    clock.freeze(stored.expires_at - 1)  # redeemed at the code's very last second
    tokens = rp.exchange(code).get_json()
    access = rp.verify(tokens["access_token"], "at+jwt").claims
    assert access["exp"] == stored.expires_at - 1 + access_ttl
    refresh = one(app, RefreshToken)
    assert refresh.expires_at < access["exp"]  # the refresh token expires first

    clock.freeze(access["exp"] - 1)  # the access token's last valid second
    assert run(app) == removed()
    assert rp.userinfo(tokens["access_token"]).status_code == 200

    last_row_expiry = max(stored.expires_at, refresh.expires_at)
    clock.freeze(last_row_expiry + retention)  # the exact boundary: everything stays
    assert run(app) == removed(authorization_code=1)  # the code expired a minute earlier
    assert count(app, "grant", id=stored.grant_id) == 1
    clock.advance(1)
    assert run(app) == removed(refresh_token=1, grant=1)
    assert count(app, "grant", id=stored.grant_id) == 0
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


# --- activation links -------------------------------------------------------------------------
@pytest.mark.parametrize("used, status, message", [
    (False, 410, "Deze activatielink is verlopen"),
    (True, 410, "Deze activatielink is al gebruikt"),
], ids=["never-used", "used"])
def test_an_old_activation_link_keeps_its_message_for_the_keep_period(
        app, client, mailbox, make_org, invite, frozen_clock, used, status, message):
    from tests.actors import Parent

    make_org()
    invite()
    parent = Parent(client, mailbox)
    link = parent.activation_link()
    if used:
        parent.activate()
    activation = one(app, Activation)
    keep = app.config["IDP_CLEANUP_KEEP_ACTIVATIONS"]
    assert keep == 30 * DAY
    clock.freeze(activation.expires_at + keep)
    assert run(app) == removed()
    page = parent.open_activation(link)
    assert (page.status_code, message in page.get_data(as_text=True)) == (status, True)
    clock.advance(1)
    assert run(app) == removed(activation=1)
    page = parent.open_activation(link)
    assert page.status_code == 404
    assert "Deze activatielink is niet geldig" in page.get_data(as_text=True)
    assert count(app, "activation") == 0 and one(app, Account).username == "Yvonne.testouder"


# --- links e-mailed to an account holder (idp.accounts.links) --------------------------------
@pytest.mark.parametrize("used, message", [(False, "EXPIRED"), (True, "USED")],
                         ids=["never-used", "used"])
def test_an_old_reset_link_keeps_its_message_for_the_keep_period(app, parent, mailbox, used,
                                                                  message):
    from tests import test_account_links as links_test
    from tests.actors import authenticator_code

    page = links_test.reset_page(app, parent, mailbox)
    link = links_test.mailed_link(mailbox)
    if used:
        new = links_test.NEW_PASSWORD
        assert links_test.submit(parent.browser, page, "/herstellen", password=new,
                                 password_again=new,
                                 code=authenticator_code(parent.secret)).status_code == 302
    stored = one(app, AccountLink)
    clock.freeze(stored.expires_at + app.config["IDP_CLEANUP_KEEP_ACTIVATIONS"])
    assert run(app)["account_link"] == 0
    page = links_test.follow(app.test_client(), link)
    assert page.status_code == 410
    assert pages.messages(page.get_data(as_text=True)) == [getattr(links_test, message)]
    clock.advance(1)
    assert run(app)["account_link"] == 1
    page = links_test.follow(app.test_client(), link)
    assert page.status_code == 404
    assert pages.messages(page.get_data(as_text=True)) == [links_test.UNKNOWN]


def test_an_unused_new_app_link_stays_while_the_account_has_no_app(app, parent, mailbox):
    """After the helpdesk reset the app, that link (used or not) is what keeps the sign-in
    page from linking a new app with the password alone: it stays while no app is linked."""
    from tests import test_account_links as links_test
    from tests.test_account_actions import refused_like_a_wrong_password

    links_test.helpdesk(app, "reset_authenticator")
    stored = one(app, AccountLink)
    clock.freeze(stored.expires_at + 365 * DAY)
    assert run(app)["account_link"] == 0
    assert refused_like_a_wrong_password(links_test.sign_in_without_code(parent, PASSWORD))
    links_test.helpdesk(app, "reset_authenticator")  # a new link; the parent uses it
    parent.secret, done = links_test.link_new_phone(parent, links_test.mailed_link(mailbox))
    assert done.status_code == 302
    clock.advance(app.config["IDP_NEW_AUTHENTICATOR_TTL"]
                  + app.config["IDP_CLEANUP_KEEP_ACTIVATIONS"])
    assert run(app)["account_link"] == 1  # the old one; the used one when its time is up
    clock.advance(1)
    assert run(app)["account_link"] == 1
    assert count(app, "account_link") == 0


# --- many rows, two runs at once ----------------------------------------------------------------
def seed(app, grants: int, expires_at: int) -> None:
    """``grants`` grants, each with one code and one refresh token expiring at ``expires_at``,
    and as many activations and password-reset links: made directly, as a backlog of months
    would look."""
    with app.app_context():
        account = db.session.scalar(select(Account))
        for _ in range(grants):
            grant = Grant(client_id="seeded", account_id=account.id, offline=True,
                          created_at=expires_at - 60)
            db.session.add(grant)
            db.session.flush()
            common = dict(grant_id=grant.id, client_id="seeded", account_id=account.id,
                          scope="openid", auth_time=expires_at - 60, amr=["pwd"],
                          issued_at=expires_at - 60, expires_at=expires_at)
            db.session.add(AuthorizationCode(
                code_hash=uuid.uuid4().hex, redirect_uri="https://seeded.test/cb",
                code_challenge="x" * 43, code_challenge_method="S256", **common))
            db.session.add(RefreshToken(token_hash=uuid.uuid4().hex, **common))
            db.session.add(Activation(account_id=account.id, token_hash=uuid.uuid4().hex,
                                      totp_secret_encrypted=b"seeded", issued_at=expires_at - 60,
                                      expires_at=expires_at))
            db.session.add(AccountLink(account_id=account.id, purpose="password_reset",
                                       token_hash=uuid.uuid4().hex, requested_by="seeded",
                                       approved_at=expires_at - 60, issued_at=expires_at - 60,
                                       expires_at=expires_at))
        db.session.commit()


@pytest.mark.app_settings(IDP_CLEANUP_BATCH=3)
def test_a_backlog_goes_in_batches_of_the_setting_each_its_own_transaction(
        app, make_org, invite, frozen_clock):
    make_org()
    invite()
    seed(app, 7, expires_at=clock.timestamp() - 40 * DAY)
    statements = []

    def deleting(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("DELETE FROM"):
            statements.append("DELETE " + statement.split()[2].strip('"'))

    def committing(conn):
        statements.append("COMMIT")

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", deleting)
        event.listen(db.engine, "commit", committing)
        try:
            assert cleanup.run() == removed(authorization_code=7, refresh_token=7, grant=7,
                                            activation=7, account_link=7)
        finally:
            event.remove(db.engine, "before_cursor_execute", deleting)
            event.remove(db.engine, "commit", committing)
    # 3 + 3 + 1 per table, each batch committed before the next.
    expected = []
    for table in MODELS:
        expected += [f"DELETE {table}", "COMMIT"] * 3
    assert statements == expected


@pytest.mark.app_settings(IDP_CLEANUP_BATCH=3)
def test_two_runs_at_once_remove_each_row_once(
        app, make_org, invite, frozen_clock):
    make_org()
    invite()  # the account, and one live activation
    now = clock.timestamp()
    seed(app, 20, expires_at=now - 40 * DAY)  # past every retention
    seed(app, 2, expires_at=now + 60)  # live
    before = {table: count(app, table) for table in MODELS}
    both_ready = threading.Barrier(2, timeout=10)
    results, errors = [], []

    def one_run():
        try:
            with app.app_context():
                both_ready.wait()
                results.append(cleanup.run())
                db.session.remove()
        except Exception as error:  # reported below, with the other run's result
            errors.append(error)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(results) == 2
    assert {table: sum(r[table] for r in results) for table in MODELS} == {
        "authorization_code": 20, "refresh_token": 20, "grant": 20, "activation": 20,
        "account_link": 20}
    after = {table: count(app, table) for table in MODELS}
    assert after == {table: before[table] - 20 for table in MODELS}
    assert after == {"authorization_code": 2, "refresh_token": 2, "grant": 2, "activation": 3,
                     "account_link": 2}
    assert run(app) == removed()


# --- the worker and the command ---------------------------------------------------------------
@pytest.fixture
def second_worker(app, backend):
    """Another worker on the same database and store: another process on PostgreSQL and Redis;
    in the embedded default (one process, an in-process store) the same app."""
    if backend == "sqlite":
        yield app
        return
    settings = {key: value for key, value in app.config.items() if key.startswith("IDP_")}
    other = create_app({**settings, "TESTING": True, "SERVER_NAME": "idp.test"})
    yield other
    keys.forget_cache()
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    other.extensions["idp.store"].close()


def worker_round(app) -> int:
    with app.app_context():
        return worker.run_once()["rows_removed"]


def test_the_worker_cleans_up_at_most_once_per_interval_across_workers(
        app, second_worker, make_org, invite, frozen_clock):
    make_org()
    invite()
    interval = app.config["IDP_CLEANUP_INTERVAL"]
    assert interval == 600
    long_ago = clock.timestamp() - 40 * DAY
    seed(app, 1, expires_at=long_ago)
    assert worker_round(app) == 5  # code, refresh token, grant, activation, account link
    seed(app, 1, expires_at=long_ago)
    assert worker_round(second_worker) == 0  # within the interval: the other one ran
    assert worker_round(app) == 0
    clock.advance(interval - 1)
    assert worker_round(second_worker) == 0
    clock.advance(1)
    assert worker_round(second_worker) == 5
    assert worker_round(app) == 0


def test_idp_cleanup_removes_now_and_says_what(app, runner, world, client):
    parent, rp = world
    sign_in_at(rp, parent)
    code = one(app, AuthorizationCode)
    metric = {table: sample(client, "idp_cleanup_rows_removed_total", table=table)
              for table in MODELS}
    clock.freeze(code.expires_at + RETENTION + 1)
    live = sign_in_at(rp, parent)["code"]
    result = runner.invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "table               removed",
        "authorization_code  1",
        "refresh_token       0",
        "grant               1",
        "activation          0",
        "account_link        0",
        "2 rows removed.",
    ]
    assert runner.invoke(args=["cleanup"]).output.splitlines()[-1] == "0 rows removed."
    assert rp.exchange(live).status_code == 200
    for table, removed_now in (("authorization_code", 1), ("grant", 1), ("refresh_token", 0)):
        assert sample(client, "idp_cleanup_rows_removed_total", table=table) == (
            metric[table] + removed_now)
