"""The Host header is never used to build a URL; with an https issuer (production) a request
for any other host is refused with a 400, except the probes and /metrics."""

from urllib.parse import urlsplit

import pytest

from tests import pages
from tests.actors import Parent, RelyingParty
from tests.security.cases import case
from tests.security.state import stored
from tests.test_oidc_flow import sign_in_at

FOREIGN = "evil.test"
HTTPS = pytest.mark.app_settings(IDP_ISSUER="https://idp.test", IDP_METRICS_PORT=9100)


class ForeignHostBrowser:
    """A browser whose every request says ``Host: evil.test`` (a proxy passing any Host on, or
    a poisoned cache in between); it records every answer."""

    def __init__(self, client):
        self.client, self.responses = client, []

    def _send(self, method, url, **kwargs):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self.client.open(path, method=method, base_url=f"http://{FOREIGN}", **kwargs)
        self.responses.append(response)
        return response

    def get(self, url, **kwargs):
        return self._send("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._send("POST", url, **kwargs)


def test_no_link_or_redirect_ever_points_to_the_requested_host(app, make_org, make_client,
                                                               invite, mailbox, frozen_clock):
    make_org()
    registered = make_client(post_logout_uris=("https://dossier.test/uitgelogd",))
    invite()
    browser = ForeignHostBrowser(app.test_client())
    parent = Parent(browser, mailbox)
    parent.activate()  # the e-mail's link, the activation page and its redirect
    rp = RelyingParty(app.test_client(), registered["client_id"], registered["client_secret"],
                      registered["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()  # authorize, sign-in, back
    for path in ("/", "/jwks", "/inloggen?lang=en", "/uitloggen", "/no-such-page",
                 "/authorize?client_id=unknown"):
        browser.get(path)
    config = browser.get("/.well-known/openid-configuration").get_json()
    browser.get(rp.end_session_url(id_token_hint=tokens["id_token"],
                                   post_logout_redirect_uri="https://dossier.test/uitgelogd"))
    assert len(browser.responses) >= 13  # every request above was answered and is checked
    for response in browser.responses:
        with case(f"{response.request.method} {response.request.path}"):
            assert FOREIGN not in response.headers.get("Location", "")
            assert FOREIGN not in response.get_data(as_text=True)
    # Discovery says where everything is: the issuer, whatever the request said.
    assert {urlsplit(url).netloc for key, url in config.items()
            if key.endswith(("_endpoint", "_uri")) or key == "issuer"} == {"idp.test"}
    assert config["issuer"] == "http://idp.test"
    # The e-mail's link was built from the issuer too.
    assert parent.activation_link().startswith("http://idp.test/activeren/")


def test_forwarded_host_headers_are_ignored(client):
    response = client.get("/.well-known/openid-configuration",
                          headers={"X-Forwarded-Host": FOREIGN, "Forwarded": f"host={FOREIGN}"})
    assert FOREIGN not in response.get_data(as_text=True)


# --- production: an https issuer --------------------------------------------------------------
@HTTPS
def test_a_request_for_another_host_is_refused(world, app):
    parent, _ = world
    before = stored(app)
    attempts = {
        "people": ("GET", "/inloggen"), "home": ("GET", "/"),
        "authorize": ("GET", "/authorize?client_id=x"), "end_session": ("GET", "/end_session"),
        "sign-in": ("POST", "/inloggen"), "discovery": ("GET", "/.well-known/openid-configuration"),
        "jwks": ("GET", "/jwks"), "token": ("POST", "/token"), "not-found": ("GET", "/nope"),
    }
    for host in (FOREIGN, "idp.test.evil.test", "idp.test:8443", "10.1.2.3:8000", "idp.tes"):
        for name, (method, path) in attempts.items():
            with case(f"{host} {name}"):
                response = parent.browser.open(path, method=method, base_url=f"https://{host}")
                assert response.status_code == 400
                assert "Set-Cookie" not in response.headers  # no session begun
                if response.is_json:
                    assert response.get_json() == {"error": "invalid_request",
                                                   "error_description": "unknown host"}
                else:
                    assert "Dit adres hoort niet bij deze dienst." in pages.text(
                        response.get_data(as_text=True))
    assert stored(app) == before


@HTTPS
def test_the_issuers_host_is_served_in_any_case_and_with_its_port(client):
    for host in ("idp.test", "IDP.TEST", "idp.test:443"):
        with case(host):
            response = client.get("/.well-known/openid-configuration", base_url=f"https://{host}")
            assert response.status_code == 200


@HTTPS
def test_an_activation_link_opened_on_another_host_still_works_on_ours(world, app, invite,
                                                                       mailbox):
    invite(username="Piet.testouder", email="piet@example.org", name="Piet")
    parent = Parent(app.test_client(), mailbox, username="Piet.testouder")
    token_path = urlsplit(parent.activation_link()).path
    refused = parent.browser.get(token_path, base_url=f"https://{FOREIGN}")
    assert refused.status_code == 400
    assert parent.activate().status_code == 302


@HTTPS
def test_probes_and_metrics_answer_on_any_host(client):
    # The kubelet and Prometheus call a pod by its IP.
    for path, port in (("/healthz", "8000"), ("/readyz", "8000"), ("/metrics", "9100")):
        with case(path):
            response = client.get(path, base_url="http://10.1.2.3:8000",
                                  environ_overrides={"SERVER_PORT": port})
            assert response.status_code == 200
