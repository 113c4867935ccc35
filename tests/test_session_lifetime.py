"""How long a sign-in session lives, what keeps it alive, and what its end does to the tokens a
relying party holds (idle and absolute expiry, refresh as activity, bound refresh tokens,
offline_access, ID tokens on refresh)."""

import json
from dataclasses import asdict

import pytest

from idp import clock
from idp.extensions import store
from idp.sessions import signin
from tests.actors import RelyingParty
from tests.test_oidc_flow import sign_in_at

IDLE, MAX = 600, 12 * 3600


@pytest.fixture
def signed_in(world):
    """The parent signed in at the dossier; the dossier holds fresh tokens."""
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    return parent, rp, tokens


def still_signed_in(parent) -> bool:
    return parent.browser.get("/").status_code == 200


def test_refresh_gives_a_new_id_token_with_the_original_sign_in(signed_in):
    parent, rp, tokens = signed_in
    first = rp.validate_id_token(tokens["id_token"])
    clock.advance(240)
    refreshed = rp.refresh(tokens["refresh_token"]).get_json()
    rp.nonce = None  # OIDC Core 12.2: no nonce on refresh
    claims = rp.verify(refreshed["id_token"], "JWT").claims
    assert claims["iat"] == first["iat"] + 240
    for name in ("sub", "sid", "auth_time", "amr", "acr", "iss", "aud", "org"):
        assert claims[name] == first[name], name
    assert "nonce" not in claims


@pytest.mark.parametrize("idle, works", [(IDLE - 1, True), (IDLE + 1, False)],
                         ids=["9:59", "10:01"])
def test_refresh_works_until_ten_minutes_without_use(signed_in, idle, works):
    parent, rp, tokens = signed_in
    clock.advance(idle)
    response = rp.refresh(tokens["refresh_token"])
    if works:
        assert response.status_code == 200
    else:
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
        assert not still_signed_in(parent)


def test_refreshing_counts_as_use_and_keeps_the_session_alive(signed_in):
    parent, rp, tokens = signed_in
    refresh_token = tokens["refresh_token"]
    for _ in range(3):  # 27 minutes in all, never 10 minutes unused
        clock.advance(IDLE - 60)
        response = rp.refresh(refresh_token)
        assert response.status_code == 200
        refresh_token = response.get_json()["refresh_token"]
    assert still_signed_in(parent)


@pytest.mark.parametrize("refused", ["another client", "a wider scope"])
def test_a_refused_refresh_does_not_keep_the_session_alive(signed_in, make_client, refused):
    """Only a refresh answered with tokens is the parent's use: one with their refresh token
    from another client (a stolen one), or asking more than was granted, changes nothing."""
    parent, rp, tokens = signed_in
    clock.advance(IDLE - 60)
    if refused == "another client":
        other = make_client(name="Other", redirect_uris=("https://other.test/cb",))
        thief = RelyingParty(rp.http, other["client_id"], other["client_secret"],
                             other["redirect_uri"])
        answer = thief.refresh(tokens["refresh_token"])
        assert answer.get_json()["error"] == "invalid_grant"
    else:
        answer = rp._post_token_endpoint(rp.config["token_endpoint"], {
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "scope": "openid profile email phone"})
        assert answer.get_json()["error"] == "invalid_scope"
    clock.advance(120)  # eleven minutes after the sign-in, the parent's last use
    assert not still_signed_in(parent)
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("use", ["page", "authorization request"])
def test_a_request_of_the_parents_browser_counts_as_use(signed_in, use):
    parent, rp, tokens = signed_in
    clock.advance(IDLE - 60)
    if use == "page":
        assert parent.browser.get("/inloggen").status_code == 200
    else:
        assert "code" in rp.callback_params(parent.browser.get(rp.authorization_url(prompt="none")))
    clock.advance(IDLE - 60)  # 18 minutes after sign-in, 9 after the last use
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_the_session_ends_twelve_hours_after_sign_in_however_much_it_is_used(signed_in):
    parent, rp, tokens = signed_in
    first = rp.validate_id_token(tokens["id_token"])
    refresh_token = tokens["refresh_token"]
    rp.nonce = None
    while clock.timestamp() + IDLE - 60 < first["auth_time"] + MAX:
        clock.advance(IDLE - 60)
        response = rp.refresh(refresh_token).get_json()
        refresh_token = response["refresh_token"]
        assert rp.verify(response["id_token"], "JWT").claims["auth_time"] == first["auth_time"]
    clock.freeze(first["auth_time"] + MAX)
    response = rp.refresh(refresh_token)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert not still_signed_in(parent)


def test_after_logout_the_relying_partys_tokens_stop_working_at_once(signed_in):
    parent, rp, tokens = signed_in
    parent.log_out()
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_signing_in_again_in_the_same_browser_ends_the_old_session(signed_in):
    parent, rp, tokens = signed_in
    clock.advance(30)
    assert parent.sign_in().status_code == 302
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


# --- offline_access -----------------------------------------------------------------------------
@pytest.fixture
def offline_rp(world, make_client):
    parent, rp = world
    made = make_client(name="Rapportage", redirect_uris=("https://rapport.test/cb",),
                       allow_offline_access=True)
    return RelyingParty(rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])


def test_offline_access_refresh_tokens_outlive_the_session(world, offline_rp):
    parent, _ = world
    params = sign_in_at(offline_rp, parent, scope="openid offline_access")
    tokens = offline_rp.exchange(params["code"]).get_json()
    assert "offline_access" in tokens["scope"].split()
    parent.log_out()
    clock.advance(IDLE * 3)
    response = offline_rp.refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.get_json()
    assert not still_signed_in(parent)  # an offline refresh is not the parent's activity


def test_offline_access_is_dropped_for_a_client_not_allowed_it(signed_in):
    parent, rp, _ = signed_in
    tokens = rp.exchange(rp.callback_params(
        parent.browser.get(rp.authorization_url(scope="openid offline_access")))["code"]).get_json()
    assert tokens["scope"] == "openid"
    parent.log_out()
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_a_code_issued_before_logout_is_worthless_after_it(world):
    parent, rp = world
    code = sign_in_at(rp, parent)["code"]
    parent.log_out()
    response = rp.exchange(code)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_a_code_of_a_session_that_expired_is_worthless(app, world):
    parent, rp = world
    app.config["IDP_SESSION_IDLE_TTL"] = 30  # shorter than a code lives (60 s)
    code = sign_in_at(rp, parent)["code"]
    clock.advance(31)
    response = rp.exchange(code)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


# --- the store's one-step use (a script in Redis) ------------------------------------------------
def marked_as_saving_would(app) -> None:
    """The session's record, its lifetime in the store and its two schedule entries are what
    saving the session in Python (``signin._save``) writes for a use just now."""
    with app.app_context():
        the_store = store()
        (sid,) = the_store.scheduled(signin.EXPIRY)
        raw = the_store.get(signin.KEY + sid)
        session = signin.SignInSession(**json.loads(raw))
        assert session.last_seen == clock.now()
        assert raw == json.dumps(asdict(session)).encode()  # byte for byte
        expires_at = session.expires_at()
        assert the_store.scheduled(signin.EXPIRY) == {sid: expires_at}
        assert the_store.scheduled(signin.BY_ACCOUNT + str(session.account_id)) == {sid: expires_at}
        ttl = int(expires_at - clock.now()) + signin.RECORD_GRACE
        if the_store.shared:
            assert the_store.redis.ttl(the_store.prefix + signin.KEY + sid) in (ttl, ttl - 1)
        else:
            assert the_store._data[signin.KEY + sid][1] == clock.now() + ttl


def test_a_refresh_marks_the_session_used_as_saving_it_would(app, signed_in):
    parent, rp, tokens = signed_in
    first = rp.validate_id_token(tokens["id_token"])
    refresh_token = tokens["refresh_token"]
    clock.advance(IDLE - 60)
    response = rp.refresh(refresh_token)
    assert response.status_code == 200
    marked_as_saving_would(app)  # the idle end is the nearer one
    while clock.timestamp() + 2 * (IDLE - 60) < first["auth_time"] + MAX:
        clock.advance(IDLE - 60)
        response = rp.refresh(response.get_json()["refresh_token"])
        assert response.status_code == 200
    clock.advance(IDLE - 60)  # less than IDLE before the absolute end
    response = rp.refresh(response.get_json()["refresh_token"])
    assert response.status_code == 200
    marked_as_saving_would(app)  # the absolute end is the nearer one now
    assert still_signed_in(parent)
    marked_as_saving_would(app)  # and a page of the parent's does the same


def test_a_session_ended_meanwhile_is_not_brought_back_by_a_late_use(app, signed_in):
    parent, rp, tokens = signed_in
    with app.app_context():
        (sid,) = store().scheduled(signin.EXPIRY)
        account_id = json.loads(store().get(signin.KEY + sid))["account_id"]
        parent.log_out()
        assert signin.use(sid) is None
        assert store().get(signin.KEY + sid) is None
        assert store().scheduled(signin.EXPIRY) == {}
        assert store().scheduled(signin.BY_ACCOUNT + str(account_id)) == {}
