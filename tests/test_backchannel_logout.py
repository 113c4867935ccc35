"""Back-Channel Logout 1.0: when a session ends, for any reason, every relying party that took
part and registered an endpoint receives a logout token it can verify against the JWKS. The
worker sends them, and also ends sessions that expire while nobody comes back."""

import logging
import threading

import pytest

from idp import clock, worker
from idp.store import StoreUnavailable
from tests.actors import RelyingParty
from tests.test_oidc_flow import sign_in_at

IDLE = 600


@pytest.fixture
def dossier(world, make_client, logout_receiver):
    """A relying party with a back-channel logout endpoint, where the parent signed in."""
    parent, plain_rp = world
    made = make_client(name="Dossier", redirect_uris=("https://dossier.test/cb",),
                       backchannel_logout_uri=logout_receiver.uri)
    rp = RelyingParty(plain_rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    return parent, rp, rp.validate_id_token(tokens["id_token"]), logout_receiver


def run_worker(app):
    with app.app_context():
        return worker.run_once()


def test_logout_sends_a_verifiable_logout_token(app, dossier):
    parent, rp, id_token, receiver = dossier
    parent.log_out()
    assert run_worker(app)["logouts_delivered"] == 1
    [token] = receiver.tokens
    claims = rp.verify_logout_token(token)
    assert (claims["sub"], claims["sid"]) == (id_token["sub"], id_token["sid"])
    assert receiver.content_types == ["application/x-www-form-urlencoded"]
    assert run_worker(app)["logouts_delivered"] == 0  # sent once


@pytest.mark.parametrize("unused, ended", [(IDLE - 1, 0), (IDLE + 1, 1)], ids=["9:59", "10:01"])
def test_an_idle_session_is_ended_by_the_worker_without_the_parent_coming_back(
        app, dossier, unused, ended):
    parent, rp, id_token, receiver = dossier
    clock.advance(unused)
    done = run_worker(app)
    assert (done["sessions_ended"], done["logouts_delivered"]) == (ended, ended)
    if ended:
        assert rp.verify_logout_token(receiver.tokens[0])["sid"] == id_token["sid"]


def test_the_absolute_lifetime_ends_a_session_in_use(app, dossier):
    parent, rp, id_token, receiver = dossier
    while clock.timestamp() + IDLE - 60 < id_token["auth_time"] + 12 * 3600:
        clock.advance(IDLE - 60)
        assert parent.browser.get("/").status_code == 200
        assert run_worker(app)["sessions_ended"] == 0
    clock.freeze(id_token["auth_time"] + 12 * 3600)
    assert run_worker(app)["sessions_ended"] == 1
    assert rp.verify_logout_token(receiver.tokens[0])["sid"] == id_token["sid"]


def test_the_helpdesk_ending_the_sessions_sends_logouts(app, runner, dossier):
    parent, rp, id_token, receiver = dossier
    result = runner.invoke(args=["parent", "logout", "--org", "PO2806", "Yvonne.testouder",
                                 "--reason", "ticket 7"])
    assert result.exit_code == 0 and "Ended 1 session(s)" in result.output
    run_worker(app)
    assert rp.verify_logout_token(receiver.tokens[0])["sid"] == id_token["sid"]
    assert parent.browser.get("/").status_code == 302  # back to the sign-in page


def test_helpdesk_logout_of_an_unknown_parent_is_a_clear_error(runner, dossier):
    result = runner.invoke(args=["parent", "logout", "--org", "PO2806", "yvonne.testouder",
                                 "--reason", "ticket 7"])
    assert result.exit_code != 0 and "case-sensitive" in result.output


def test_only_clients_that_took_part_and_registered_an_endpoint_are_told(
        app, world, dossier, make_client, logout_receiver):
    parent, rp, _, receiver = dossier
    make_client(name="Nooit gebruikt", redirect_uris=("https://other.test/cb",),
                backchannel_logout_uri=logout_receiver.uri + "?never")
    _, plain_rp = world  # took part (no endpoint registered)
    plain_rp.callback_params(parent.browser.get(plain_rp.authorization_url(prompt="none")))
    parent.log_out()
    run_worker(app)
    assert [rp.verify_logout_token(t)["aud"] for t in receiver.tokens] == [rp.client_id]


@pytest.mark.parametrize("failure", [500, 302, "unreachable"])
def test_a_failed_delivery_is_retried_with_the_same_jti(app, dossier, failure, caplog):
    parent, rp, _, receiver = dossier
    if failure == "unreachable":
        receiver.close()
    else:
        receiver.answers = [failure]
    parent.log_out()
    with caplog.at_level(logging.WARNING, logger="idp.sessions.backchannel"):
        assert run_worker(app)["logouts_failed"] == 1
    assert "failed, attempt 1" in caplog.text
    clock.advance(4)
    assert run_worker(app) == {"sessions_ended": 0, "logouts_delivered": 0, "logouts_failed": 0,
                               "rows_removed": 0}
    if failure == "unreachable":
        return
    clock.advance(1)
    assert run_worker(app)["logouts_delivered"] == 1
    first, second = (rp.verify_logout_token(t) for t in receiver.tokens)
    assert first["jti"] == second["jti"] and second["iat"] == first["iat"] + 5


def test_delivery_is_given_up_after_the_retry_time_and_logged(app, dossier, caplog):
    parent, rp, _, receiver = dossier
    receiver.answers = [503] * 100
    parent.log_out()
    with caplog.at_level(logging.WARNING, logger="idp.sessions.backchannel"):
        for _ in range(40):
            run_worker(app)
            clock.advance(60)
    attempts = len(receiver.tokens)
    assert 5 <= attempts <= 15  # 5, 10, 20, ... 300 s apart within 900 s
    assert "given up after" in caplog.text
    clock.advance(3600)
    run_worker(app)
    assert len(receiver.tokens) == attempts


def test_a_logout_does_not_wait_for_an_unreachable_relying_party(dossier):
    parent, rp, _, receiver = dossier
    receiver.close()
    response = parent.log_out()
    assert response.status_code == 200 and "U bent uitgelogd" in response.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["postgres"])
def test_several_workers_racing_send_each_logout_once(app, dossier):
    parent, rp, _, receiver = dossier
    clock.advance(IDLE + 1)  # expired, nobody came back
    barrier = threading.Barrier(4)
    results = []

    def one_worker():
        barrier.wait()
        results.append(run_worker(app))

    threads = [threading.Thread(target=one_worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["sessions_ended"] for r in results) == 1
    assert sum(r["logouts_delivered"] for r in results) == 1
    assert len(receiver.tokens) == 1


def test_a_store_lost_right_after_the_session_ended_loses_no_logout_and_sends_none_twice(
        app, dossier, monkeypatch):
    """The session's end and the logouts it owes are one atomic step: whatever fails after it,
    the worker delivers them once the store works again, and only once."""
    parent, rp, id_token, receiver = dossier
    the_store = app.extensions["idp.store"]
    queued = the_store.move_and_schedule

    def store_lost_after_the_end(*args, **kwargs):
        taken = queued(*args, **kwargs)
        monkeypatch.setattr(the_store, "unschedule", lost)
        monkeypatch.setattr(the_store, "get", lost)
        return taken

    def lost(*args, **kwargs):
        raise StoreUnavailable("gone")

    monkeypatch.setattr(the_store, "move_and_schedule", store_lost_after_the_end)
    assert parent.log_out().status_code == 503  # the outage page; the parent may try again
    monkeypatch.undo()

    assert run_worker(app)["logouts_delivered"] == 1
    [token] = receiver.tokens
    assert rp.verify_logout_token(token)["sid"] == id_token["sid"]
    assert parent.browser.get("/").status_code == 302  # signed out: nothing left to end
    for _ in range(3):
        assert run_worker(app)["logouts_delivered"] == 0
    assert len(receiver.tokens) == 1
