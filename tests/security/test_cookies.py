"""The browser-session cookie: only an opaque id; with an https issuer ``__Host-`` prefixed,
Secure, HttpOnly, SameSite=Lax, for the whole host and no other (so a sibling domain cannot
plant or read it)."""

import pytest

HTTPS = pytest.mark.app_settings(IDP_ISSUER="https://idp.test")


def set_cookie(response) -> tuple[str, str, dict]:
    """(name, value, attributes) of the one Set-Cookie header."""
    headers = response.headers.getlist("Set-Cookie")
    assert len(headers) == 1, headers
    name, _, rest = headers[0].partition("=")
    value, *attributes = [part.strip() for part in rest.split(";")]
    parsed = {}
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        parsed[key.lower()] = val or True
    return name, value, parsed


@HTTPS
def test_https_cookie_is_host_prefixed_secure_httponly_samesite(client):
    name, value, attributes = set_cookie(client.get("/inloggen"))
    assert name == "__Host-idp"
    assert attributes["secure"] is True and attributes["httponly"] is True
    assert attributes["samesite"] == "Lax"
    # __Host- demands Path=/ and no Domain (RFC 6265bis 4.1.3.2): this host only.
    assert attributes["path"] == "/" and "domain" not in attributes
    assert len(value) <= 64 and "." not in value  # an opaque id, nothing signed or readable


def test_http_cookie_is_httponly_and_samesite(client):
    # The embedded default on http: no Secure (the browser would drop it), no prefix.
    name, _, attributes = set_cookie(client.get("/inloggen"))
    assert name == "idp" and attributes["httponly"] is True and attributes["samesite"] == "Lax"
    assert "secure" not in attributes


@HTTPS
def test_a_planted_cookie_without_the_prefix_is_ignored(world, app):
    parent, _ = world
    parent.sign_in()
    assert parent.browser.get("/").status_code == 200
    session_id = parent.browser.get_cookie("__Host-idp", domain="idp.test").value
    # A sibling domain can set "idp" for this host, never "__Host-idp": it must not count.
    other = app.test_client()
    other.set_cookie("idp", session_id, domain="idp.test")
    response = other.get("/")
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]


@HTTPS
def test_sign_in_and_logout_work_with_the_secure_cookie(world):
    parent, _ = world
    assert parent.sign_in().status_code == 302
    assert parent.browser.get("/").status_code == 200
    assert parent.log_out().status_code == 200
    assert parent.browser.get("/").status_code == 302
