"""Programs' endpoints (idp.paths) never touch the browser session: a parent's browser cookie
sent along is neither read from the store nor written. People's pages still use it."""

import pytest

from idp.sessions.browser import KEY
from tests.test_oidc_flow import sign_in_at


class CountingStore:
    """The app's store, counting the reads and writes of browser sessions."""

    def __init__(self, store):
        self.store, self.touched = store, []

    def __getattr__(self, name):
        method = getattr(self.store, name)
        if name not in ("get", "peek", "set", "delete"):
            return method

        def counted(key, *args, **kwargs):
            if key.startswith(KEY):
                self.touched.append((name, key))
            return method(key, *args, **kwargs)

        return counted


@pytest.fixture
def counted(app):
    real = app.extensions["idp.store"]
    app.extensions["idp.store"] = counting = CountingStore(real)
    app.session_interface.store = counting
    yield counting
    app.extensions["idp.store"] = real
    app.session_interface.store = real


def test_a_parents_cookie_sent_to_program_endpoints_is_left_alone(world, counted):
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    assert parent.browser.get_cookie("idp", domain="idp.test") is not None  # the browser holds a session
    counted.touched.clear()
    answers = {
        "userinfo": parent.browser.get("/userinfo",
                                       headers={"Authorization": f"Bearer {tokens['access_token']}"}),
        "token": parent.browser.post("/token", data={"grant_type": "refresh_token"}),
        "jwks": parent.browser.get("/jwks?x=1"),  # through Flask (a query)
        "readyz": parent.browser.get("/readyz"),
        "unknown": parent.browser.get("/.well-known/nothing"),
    }
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "userinfo": 200, "token": 401, "jwks": 200, "readyz": 200, "unknown": 404}
    assert all("Set-Cookie" not in answer.headers for answer in answers.values())
    assert counted.touched == []
    # A page of the parent's reads it (and so keeps the sign-in alive).
    assert parent.browser.get("/").status_code == 200
    assert ("get", KEY + parent.browser.get_cookie("idp", domain="idp.test").value) in counted.touched
