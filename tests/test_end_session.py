"""RP-Initiated Logout 1.0: a relying party sends the parent to ``end_session_endpoint``.

A valid ``id_token_hint`` for the current session logs out at once; anything less asks the
parent to confirm first. ``post_logout_redirect_uri`` is followed only on an exact match with
one registered for that client, with ``state``.
"""

import base64
import json

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp import clock, keys
from tests import pages
from tests.actors import RelyingParty
from tests.test_oidc_flow import sign_in_at

RETURN = "https://dossier.test/uitgelogd"


@pytest.fixture
def dossier(world, make_client):
    parent, plain_rp = world
    made = make_client(name="Dossier", redirect_uris=("https://dossier.test/cb",),
                       post_logout_uris=(RETURN,))
    rp = RelyingParty(plain_rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    return parent, rp, tokens


def signed_in(parent) -> bool:
    return parent.browser.get("/").status_code == 200


def test_discovery_names_the_end_session_endpoint(client):
    config = client.get("/.well-known/openid-configuration").get_json()
    assert config["end_session_endpoint"] == "http://idp.test/end_session"
    assert config["backchannel_logout_supported"] and config["backchannel_logout_session_supported"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_valid_hint_logs_out_at_once_and_returns_with_state(dossier, method):
    parent, rp, tokens = dossier
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": RETURN,
              "state": "s-123"}
    if method == "GET":
        response = parent.browser.get(rp.end_session_url(**params))
    else:
        response = parent.browser.post(rp.config["end_session_endpoint"], data=params)
    assert response.status_code == 302 and response.headers["Location"] == RETURN + "?state=s-123"
    assert not signed_in(parent)
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_an_expired_hint_is_still_a_hint(dossier):
    parent, rp, tokens = dossier
    for _ in range(3):  # 15 minutes, the ID token (5 minutes) long expired, the session in use
        clock.advance(300)
        assert signed_in(parent)
    response = parent.browser.get(rp.end_session_url(id_token_hint=tokens["id_token"]))
    assert response.status_code == 200 and "U bent uitgelogd" in pages.text(response.get_data(as_text=True))
    assert not signed_in(parent)


def test_without_a_hint_the_parent_confirms_first(dossier):
    parent, rp, tokens = dossier
    page = parent.browser.get(rp.end_session_url(client_id=rp.client_id,
                                                 post_logout_redirect_uri=RETURN, state="abc"))
    assert page.status_code == 200 and "Wilt u uitloggen?" in pages.text(page.get_data(as_text=True))
    assert signed_in(parent)  # a link alone logs nobody out
    fields = pages.form_fields(page.get_data(as_text=True))
    forged = parent.browser.post("/uitloggen", data={})
    assert forged.status_code == 400 and signed_in(parent)
    confirmed = parent.browser.post("/uitloggen", data=fields)
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == RETURN + "?state=abc"
    assert not signed_in(parent)


def test_a_hint_from_an_earlier_session_asks_to_confirm(dossier):
    parent, rp, tokens = dossier
    clock.advance(30)
    parent.sign_in()  # a new session in the same browser
    page = parent.browser.get(rp.end_session_url(id_token_hint=tokens["id_token"]))
    assert "Wilt u uitloggen?" in pages.text(page.get_data(as_text=True)) and signed_in(parent)


def test_without_a_session_a_valid_request_just_returns(dossier):
    parent, rp, tokens = dossier
    parent.log_out()
    response = parent.browser.get(rp.end_session_url(id_token_hint=tokens["id_token"],
                                                     post_logout_redirect_uri=RETURN))
    assert response.headers["Location"] == RETURN


@pytest.mark.parametrize("uri", [
    RETURN + "?next=/", "https://dossier.test:8443/uitgelogd", "https://DOSSIER.test/uitgelogd",
    "https://dossier.test/Uitgelogd", "https://evil.test/uitgelogd", "https://dossier.test/cb",
], ids=["query-added", "other-port", "host-case", "path-case", "unregistered", "redirect-uri"])
def test_a_return_address_that_is_not_an_exact_match_is_never_followed(dossier, uri):
    parent, rp, tokens = dossier
    page = parent.browser.get(rp.end_session_url(id_token_hint=tokens["id_token"],
                                                 post_logout_redirect_uri=uri, state="x"))
    text = pages.text(page.get_data(as_text=True))
    assert page.status_code == 400 and "terugkeeradres" in text and "Wilt u uitloggen?" in text
    assert signed_in(parent)
    confirmed = parent.browser.post("/uitloggen", data=pages.form_fields(page.get_data(as_text=True)))
    assert confirmed.status_code == 200 and "U bent uitgelogd" in pages.text(confirmed.get_data(as_text=True))


def test_a_return_address_of_another_client_is_not_followed(dossier, world):
    parent, rp, tokens = dossier
    _, other = world
    page = parent.browser.get(other.end_session_url(client_id=other.client_id,
                                                    post_logout_redirect_uri=RETURN))
    assert page.status_code == 400 and signed_in(parent)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forged_hints(app, rp, tokens):
    """ID tokens we did not issue for this client, each wrong in one way."""
    genuine = rp.verify(tokens["id_token"], "JWT").claims
    foreign = RSAKey.generate_key(2048, private=True)
    header = {"alg": "RS256", "kid": rp.verify(tokens["id_token"], "JWT").header["kid"], "typ": "JWT"}
    with app.app_context():
        ours = keys.signing_key("RS256")
        signed_by_us = lambda claims, typ="JWT": jwt.encode(  # noqa: E731
            {"alg": "RS256", "kid": ours.kid, "typ": typ}, claims, ours, algorithms=["RS256"])
        head, body, signature = tokens["id_token"].split(".")
        unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{body}."
        return {
            "alg-none": unsigned,
            "foreign-key": jwt.encode(header, genuine, foreign, algorithms=["RS256"]),
            "other-issuer": signed_by_us({**genuine, "iss": "https://evil.test"}),
            "access-token": tokens["access_token"],
            "logout-token-typ": signed_by_us(genuine, "logout+jwt"),
            "tampered": f"{head}.{_b64({**genuine, 'sub': 'someone-else'})}.{signature}",
            "garbage": "not-a-jwt",
        }


def test_an_invalid_hint_never_logs_out_or_redirects(app, dossier):
    parent, rp, tokens = dossier
    for name, hint in _forged_hints(app, rp, tokens).items():
        page = parent.browser.get(rp.end_session_url(id_token_hint=hint,
                                                     post_logout_redirect_uri=RETURN))
        text = pages.text(page.get_data(as_text=True))
        assert page.status_code == 400, name
        assert "gegevens mee die niet kloppen" in text and "Wilt u uitloggen?" in text, name
        assert signed_in(parent), name


def test_a_hint_for_another_client_than_client_id_is_refused(dossier, world):
    parent, rp, tokens = dossier
    _, other = world
    page = parent.browser.get(rp.end_session_url(id_token_hint=tokens["id_token"],
                                                 client_id=other.client_id))
    assert page.status_code == 400 and signed_in(parent)


def test_end_session_sends_back_channel_logouts(app, world, make_client, logout_receiver):
    from idp import worker

    parent, plain_rp = world
    made = make_client(name="Dossier", redirect_uris=("https://dossier.test/cb",),
                       backchannel_logout_uri=logout_receiver.uri)
    rp = RelyingParty(plain_rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    parent.browser.get(rp.end_session_url(id_token_hint=tokens["id_token"]))
    with app.app_context():
        worker.run_once()
    claims = rp.verify_logout_token(logout_receiver.tokens[0])
    assert claims["sid"] == rp.verify(tokens["id_token"], "JWT").claims["sid"]
