"""Registered clients are cached per process for IDP_CLIENT_CACHE_TTL seconds: a change to a
registration (here: its removal) reaches every worker within that bound, and no later."""

from sqlalchemy import delete

from idp import clock
from idp.extensions import db
from idp.models import Client


def test_a_removed_client_is_refused_once_the_cache_ttl_has_passed(world, app):
    parent, rp = world
    assert rp.revoke("no-such-token").status_code == 200  # the client is read, and kept
    with app.app_context():
        db.session.execute(delete(Client).where(Client.client_id == rp.client_id))
        db.session.commit()

    clock.advance(app.config["IDP_CLIENT_CACHE_TTL"] - 1)
    assert rp.revoke("no-such-token").status_code == 200
    clock.advance(1)
    refused = rp.revoke("no-such-token")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
