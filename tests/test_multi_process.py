"""Several processes as one service: two gunicorn instances (two workers each) and a separate
worker, sharing PostgreSQL and Redis like replicas behind a load balancer. A session started on
one instance is used and ended on the other, and the worker process sends the logouts."""

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests import pages
from tests.actors import Parent
from tests.processes import WebProcess, environment, worker_process
from tests.secrets_seen import remember, remember_tokens

RETURN = "http://127.0.0.1/uitgelogd"
IP_FAILURES = 4
IDLE = 10  # seconds: short enough to show real expiry, long enough for a busy CI machine


@pytest.fixture
def service(app, tmp_path, client, mailbox, make_org, make_client, invite, logout_receiver):
    """Instances ``a`` and ``b`` and a worker; a parent of an organisation without codes."""
    make_org(requires_2fa=False)
    registered = make_client(redirect_uris=("http://127.0.0.1/cb",), post_logout_uris=(RETURN,),
                             backchannel_logout_uri=logout_receiver.uri)
    invite()
    Parent(client, mailbox).activate()
    env = environment(app, tmp_path, IDP_ISSUER="http://lb.invalid", IDP_SESSION_IDLE_TTL=IDLE,
                      IDP_WORKER_INTERVAL=1, IDP_THROTTLE_IP_FAILURES=IP_FAILURES)
    processes = []
    try:
        processes.append(WebProcess(env, tmp_path / "a.log"))
        processes.append(WebProcess(env, tmp_path / "b.log"))
        processes.append(worker_process(env, tmp_path / "worker.log"))
        yield processes[0], processes[1], registered, logout_receiver
    finally:
        for process in processes:
            process.stop()


class Browser:
    """A browser whose requests the load balancer sends to instance a or b, as told."""

    def __init__(self):
        self.http = requests.Session()

    def get(self, instance, path, **params):
        return self.http.get(instance.url + path, params=params, allow_redirects=False)

    def post(self, instance, path, data):
        return self.http.post(instance.url + path, data=data, allow_redirects=False)


def sign_in(browser, start, finish, rp) -> dict:
    """Authorization request and its sign-in page on ``start``, the page's POST (and so the
    code) on ``finish``."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    params = {"response_type": "code", "client_id": rp["client_id"], "scope": "openid",
              "redirect_uri": rp["redirect_uri"], "state": "st", "nonce": "n",
              "code_challenge": challenge.decode(), "code_challenge_method": "S256"}
    page = browser.http.get(f"{start.url}/authorize?{urlencode(params)}", allow_redirects=False)
    assert page.status_code == 200, page.headers.get("Location")
    form = pages.forms(page.text)[0]
    fields = dict(form["fields"])
    fields.update(organisation="PO2806", username="Yvonne.testouder",
                  password="fietsen langs de maas 2026")
    back = browser.post(finish, form["action"], fields)
    assert back.status_code == 302, pages.text(back.text)[:500]
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    remember(code, verifier)
    return {"code": code, "verifier": verifier}


def tokens_for(browser, rp, start, finish, exchange_at) -> tuple[dict, str]:
    """Sign in across the instances named; the tokens, and the sid of the verified ID token."""
    answer = sign_in(browser, start, finish, rp)
    tokens = token_request(exchange_at, rp, grant_type="authorization_code", code=answer["code"],
                           redirect_uri=rp["redirect_uri"], code_verifier=answer["verifier"]).json()
    return tokens, verified(finish, tokens["id_token"], "JWT")["sid"]


def token_request(instance, rp, **data):
    response = requests.post(f"{instance.url}/token", data=data,
                             auth=(rp["client_id"], rp["client_secret"]))
    remember_tokens(response.json())
    return response


def verified(instance, token: str, typ: str) -> dict:
    keyset = KeySet.import_key_set(requests.get(f"{instance.url}/jwks").json())
    decoded = jwt.decode(token, keyset, algorithms=["RS256", "ES256"])
    assert decoded.header["typ"] == typ and decoded.claims["iss"] == "http://lb.invalid"
    return decoded.claims


def wait_for_logout(receiver, count: int) -> list[str]:
    deadline = time.monotonic() + IDLE + 30  # the worker runs every second
    while len(receiver.tokens) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return receiver.tokens


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_session_started_on_one_instance_is_ended_on_the_other(service):
    a, b, rp, receiver = service
    browser = Browser()
    tokens, sid = tokens_for(browser, rp, start=a, finish=b, exchange_at=a)
    refreshed = token_request(b, rp, grant_type="refresh_token",
                              refresh_token=tokens["refresh_token"]).json()
    assert verified(a, refreshed["id_token"], "JWT")["sid"] == sid

    logout = browser.get(b, "/end_session", id_token_hint=tokens["id_token"],
                         post_logout_redirect_uri=RETURN, state="s")
    assert logout.headers["Location"] == RETURN + "?state=s"
    again = token_request(a, rp, grant_type="refresh_token", refresh_token=refreshed["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert browser.get(a, "/").status_code == 302  # signed out on every instance

    [logout_token] = wait_for_logout(receiver, 1)
    assert verified(a, logout_token, "logout+jwt")["sid"] == sid


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_worker_process_ends_an_idle_session_and_sends_the_logout(service):
    a, b, rp, receiver = service
    tokens, sid = tokens_for(Browser(), rp, start=b, finish=a, exchange_at=b)
    # Nobody comes back: the worker ends the session by itself and tells the relying party.
    [logout_token] = wait_for_logout(receiver, 1)
    assert verified(b, logout_token, "logout+jwt")["sid"] == sid
    refused = token_request(a, rp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("backend", ["postgres"])
def test_failed_sign_ins_are_counted_across_instances(service):
    a, b, rp, receiver = service
    browser = Browser()

    def wrong_password(instance):
        fields = pages.form_fields(browser.get(instance, "/inloggen").text)
        fields.update(organisation="PO2806", username=f"Ouder.{secrets.token_hex(3)}",
                      password="niet het wachtwoord")
        return browser.post(instance, "/inloggen", fields).status_code

    # Half the failures on each instance: together they reach the per-IP limit.
    assert [wrong_password(a), wrong_password(b), wrong_password(a), wrong_password(b)] == [400] * 4
    assert wrong_password(a) == 429 and wrong_password(b) == 429
