"""Access tokens are not stored: each names its grant (``gid``), and userinfo, introspection and
revocation find the grant by that name. What a relying party sees stays the same: a token works
while its grant and session live, and stops when either ends."""

from sqlalchemy import func, inspect, select, update

from idp import keys
from idp.extensions import db
from idp.models import Grant
from tests.security.test_jwt_verification import SIGNERS, forge, part
from tests.test_oidc_flow import sign_in_at


def another_code(rp, parent) -> str:
    """A second authorization request in the same browser: single sign-on, a new grant."""
    back = parent.browser.get(rp.authorization_url())
    return rp.callback_params(back)["code"]


def test_access_tokens_name_their_grant_by_a_random_reference(app, world):
    parent, rp = world
    first = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    claims = rp.verify(first["access_token"], "at+jwt").claims
    refreshed = rp.refresh(first["refresh_token"]).get_json()
    second = rp.exchange(another_code(rp, parent)).get_json()

    gid = claims["gid"]
    assert rp.verify(refreshed["access_token"], "at+jwt").claims["gid"] == gid
    assert rp.verify(second["access_token"], "at+jwt").claims["gid"] != gid
    with app.app_context():
        grant_ids = db.session.scalars(select(Grant.id)).all()
        assert gid not in {str(grant_id) for grant_id in grant_ids} and len(gid) >= 20
        # Nothing is written per access token: migration 0007 dropped the table they had.
        assert "access_token" not in inspect(db.engine).get_table_names()


def test_a_grant_from_the_release_before_gets_a_reference_at_its_next_token_request(app, world):
    """During a rolling upgrade the old pods still make grants without a reference."""
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    with app.app_context():
        db.session.execute(update(Grant).values(reference=None))
        db.session.commit()

    refreshed = rp.refresh(tokens["refresh_token"]).get_json()
    gid = rp.verify(refreshed["access_token"], "at+jwt").claims["gid"]
    assert rp.userinfo(refreshed["access_token"]).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Grant.reference)) == gid
        assert db.session.scalar(select(func.count()).select_from(Grant)) == 1


def test_revoking_the_refresh_token_stops_the_access_tokens_of_its_grant(world):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    other = rp.exchange(another_code(rp, parent)).get_json()
    assert rp.revoke(tokens["refresh_token"], hint="refresh_token").status_code == 200

    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    # Another grant of the same parent and client is not touched.
    assert rp.userinfo(other["access_token"]).status_code == 200


def _signed_like_ours(app, token: str, **changes) -> str:
    """The token with some claims changed, signed again with our own active key: what a
    mistake of ours, not an attacker, could produce. It still must not pass."""
    header, claims = part(token, 0), part(token, 1)
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    with app.app_context():
        sign = SIGNERS[header["alg"]](keys.signing_key(header["alg"]).private_key)
    return forge(header, claims, sign)


def test_a_token_naming_an_unknown_grant_or_another_parent_is_refused(app, world):
    parent, rp = world
    access_token = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()["access_token"]
    assert rp.userinfo(_signed_like_ours(app, access_token)).status_code == 200  # the control

    for changes in ({"gid": "no-such-grant"}, {"gid": None}, {"sub": "someone-else"}):
        forged = _signed_like_ours(app, access_token, **changes)
        assert rp.userinfo(forged).status_code == 401, changes
        assert rp.introspect(forged).get_json() == {"active": False}, changes
