"""The people and programs of the tests: a parent with a browser and an authenticator app,
and a relying party that trusts nothing but discovery and the JWKS."""

import base64
import hashlib
import io
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import zxingcpp
from joserfc import jwt
from joserfc.jwk import KeySet
from PIL import Image

from idp import clock
from tests import pages
from tests.secrets_seen import remember, remember_tokens

PASSWORD = "fietsen langs de maas 2026"


def authenticator_code(secret: str, at: float | None = None) -> str:
    code = pyotp.TOTP(secret).at(clock.now() if at is None else at)
    remember(code, secret)
    return code


def decode_qr(html: str) -> str:
    """Decode the QR image on the page, like the phone's camera would."""
    match = re.search(r'<img class="qr" src="data:image/png;base64,([^"]+)"', html)
    assert match, "no QR code on the page"
    image = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    results = zxingcpp.read_barcodes(image)
    assert results, "the QR code could not be read"
    return results[0].text


class Parent:
    """A parent in a browser (the Flask test client), with Google Authenticator."""

    def __init__(self, browser, mailbox, username="Yvonne.testouder", org="PO2806"):
        self.browser, self.mailbox = browser, mailbox
        self.username, self.org = username, org
        self.secret = None

    def activation_link(self) -> str:
        return self.link_in_last_email()

    def open_activation(self, link: str | None = None):
        response = self.browser.get(link or self.activation_link())
        if response.status_code == 302:
            response = self.browser.get(response.headers["Location"])
        return response

    def scan_key(self, html: str) -> str | None:
        """The secret as the parent would type it: the key shown in groups of four."""
        key = re.search(r'<code class="key" id="totp-key">([^<]+)</code>', html)
        if not key:
            return None
        remember(key.group(1), key.group(1).replace(" ", "").upper())
        return key.group(1).replace(" ", "").upper()

    def submit_activation(self, html, password=PASSWORD, again=None, code=None, **changes):
        remember(password, again, code)
        fields = pages.form_fields(html)
        fields.update(password=password, password_again=password if again is None else again)
        key = self.scan_key(html)
        if key or code is not None:
            fields["code"] = authenticator_code(key) if code is None else code
        fields.update(changes)
        return self.browser.post("/activeren", data=fields)

    def activate(self, password=PASSWORD):
        page = self.open_activation()
        assert page.status_code == 200, pages.text(page.get_data(as_text=True))
        html = page.get_data(as_text=True)
        self.secret = self.scan_key(html)
        response = self.submit_activation(html, password)
        assert response.status_code == 302, pages.text(response.get_data(as_text=True))
        clock.advance(30)  # the enrolment code may not be used again: wait for the next one
        return response

    def sign_in(self, login_url="/inloggen", password=PASSWORD, username=None, code=None,
                org=None, page=None):
        """Fill in the sign-in page and press *Inloggen*. ``page``: the page already on the
        screen (what ``/authorize`` answered); else the one at ``login_url``. The form goes
        where its ``action`` says, as a browser sends it."""
        remember(password, code)
        page = page if page is not None else self.browser.get(login_url)
        form = pages.forms(page.get_data(as_text=True))[0]
        fields = dict(form["fields"])
        fields.update(
            organisation=org or self.org,
            username=username or self.username,
            password=password,
            code=(authenticator_code(self.secret) if self.secret else "") if code is None else code,
        )
        return self.browser.post(form["action"] or login_url, data=fields)

    def forgot_password(self, identifier=None, org=None):
        """"Wachtwoord vergeten?": organisation and username (or e-mail address). The answer is
        read in full, as a browser does; only then does the e-mail go out."""
        page = self.browser.get("/wachtwoord-vergeten")
        fields = pages.form_fields(page.get_data(as_text=True))
        fields.update(organisation=org or self.org, identifier=identifier or self.username)
        response = self.browser.post("/wachtwoord-vergeten", data=fields)
        response.close()
        return response

    def link_in_last_email(self) -> str:
        """The link after "adres:" in the last e-mail (welcome, password reset, new app)."""
        body = self.mailbox.last().get_body(("plain",)).get_content()
        link = re.search(r"adres: (\S+)", body).group(1)
        remember(link, link.rsplit("/", 1)[-1])
        return link

    def log_out(self):
        """The person icon top right, then "Uitloggen"."""
        page = self.browser.get("/uitloggen")
        return self.browser.post("/uitloggen", data=pages.form_fields(page.get_data(as_text=True)))


class Staff(Parent):
    """A staff member of the organisation: invited and activated like a parent (always with an
    authenticator), signs in on the same page, then works in the console (/beheer)."""

    def sign_in(self, login_url="/inloggen", password=PASSWORD, username=None, code=None,
                org=None, page=None):
        response = super().sign_in(login_url, password, username, code, org, page)
        if response.headers.get("Location", "").endswith("/inloggen/code"):
            response = self.give_code()
        return response

    def give_code(self, code=None, url="/inloggen/code"):
        """The second step (or the console's step-up): the code the app shows now."""
        page = self.browser.get(url)
        fields = pages.form_fields(page.get_data(as_text=True))
        fields["code"] = authenticator_code(self.secret) if code is None else code
        remember(fields["code"])
        return self.browser.post(url, data=fields)

    def page(self, path):
        return self.browser.get(path)

    def act(self, page_path, action_path, reason="Ticket 4711", confirm=True, **extra):
        """Press an action's button on a console page: the form whose action is ``action_path``,
        with the reason filled in and the confirmation ticked."""
        html = self.browser.get(page_path).get_data(as_text=True)
        found = [f for f in pages.forms(html) if f["action"] == action_path]
        assert found, f"no form for {action_path} on {page_path}: {pages.text(html)[:500]}"
        fields = dict(found[0]["fields"])
        fields.pop("confirm", None)
        if confirm:
            fields["confirm"] = "yes"
        if "reason" in fields or reason is not None:
            fields["reason"] = reason or ""
        fields.update(extra)
        return self.browser.post(action_path, data=fields)

    def csrf_token(self, path="/beheer/ouders/uitnodigen"):
        html = self.browser.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


class RelyingParty:
    """An OIDC client, as the dossier application would be: discovery, PKCE, JWKS."""

    def __init__(self, http, client_id, client_secret=None, redirect_uri=None,
                 issuer="http://idp.test", auth_method="client_secret_basic"):
        self.http, self.client_id, self.client_secret = http, client_id, client_secret
        self.redirect_uri, self.issuer, self.auth_method = redirect_uri, issuer, auth_method
        self.config = self.http.get(f"{issuer}/.well-known/openid-configuration").get_json()
        remember(client_secret)
        self.state = self.nonce = self.verifier = None

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(self.http.get(self.config["jwks_uri"]).get_json())

    def authorization_params(self, scope="openid profile email", **extra) -> dict:
        self.state, self.nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "scope": scope, "state": self.state,
            "nonce": self.nonce, "code_challenge": challenge, "code_challenge_method": "S256",
        }
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}

    def authorization_url(self, scope="openid profile email", **extra) -> str:
        params = self.authorization_params(scope, **extra)
        return f"{self.config['authorization_endpoint']}?{urlencode(params)}"

    def send_to_authorize(self, browser, method="GET", **params):
        """The browser sent to the authorization endpoint: a link (GET), or an auto-submitted
        form (POST, OIDC Core 3.1.2.1), whose 303 answer the browser follows with a GET."""
        if method == "GET":
            return browser.get(self.authorization_url(**params))
        posted = browser.post(self.config["authorization_endpoint"],
                              data=self.authorization_params(**params))
        if posted.status_code != 303:
            return posted  # refused at once (idp.web.limits)
        return browser.get(posted.headers["Location"])

    def callback_params(self, response) -> dict:
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri), location
        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        remember(params.get("code"))
        self.check_issuer(params)
        return params

    def check_issuer(self, params: dict) -> None:
        """RFC 9207 2.4: a provider that says it sends ``iss`` must send its own issuer."""
        if self.config.get("authorization_response_iss_parameter_supported"):
            assert params.get("iss") == self.config["issuer"], params

    def _post_token_endpoint(self, url, data):
        headers = {}
        if self.client_secret and self.auth_method == "client_secret_basic":
            raw = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif self.client_secret:
            data = {**data, "client_id": self.client_id, "client_secret": self.client_secret}
        else:
            data = {**data, "client_id": self.client_id}
        response = self.http.post(url, data=data, headers=headers)
        remember_tokens(response.get_json(silent=True))
        return response

    def exchange(self, code, verifier="__own__"):
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.redirect_uri}
        verifier = self.verifier if verifier == "__own__" else verifier
        if verifier is not None:
            data["code_verifier"] = verifier
        return self._post_token_endpoint(self.config["token_endpoint"], data)

    def refresh(self, refresh_token):
        return self._post_token_endpoint(
            self.config["token_endpoint"],
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    def revoke(self, token, hint=None):
        data = {"token": token}
        if hint:
            data["token_type_hint"] = hint
        return self._post_token_endpoint(self.config["revocation_endpoint"], data)

    def userinfo(self, access_token):
        return self.http.get(self.config["userinfo_endpoint"],
                             headers={"Authorization": f"Bearer {access_token}"})

    def introspect(self, token, hint=None):
        data = {"token": token}
        if hint:
            data["token_type_hint"] = hint
        return self._post_token_endpoint(self.config["introspection_endpoint"], data)

    def end_session_url(self, **params) -> str:
        return f"{self.config['end_session_endpoint']}?{urlencode(params)}"

    def verify_logout_token(self, token: str) -> dict:
        """Back-Channel Logout 1.0 section 2.6, as a relying party checks it."""
        claims = self.verify(token, "logout+jwt").claims
        assert claims["iss"] == self.issuer
        assert claims["aud"] in (self.client_id, [self.client_id])
        assert claims["iat"] <= clock.timestamp() < claims["exp"]
        assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
        assert "nonce" not in claims and claims["jti"] and claims["sid"] and claims["sub"]
        return claims

    def verify(self, token: str, typ: str):
        """Verify a JWT against the published JWKS with an explicit algorithm list."""
        decoded = jwt.decode(token, self.jwks(), algorithms=["RS256", "ES256"])
        assert decoded.header["typ"] == typ
        assert decoded.header["kid"] in {k["kid"] for k in self.http.get(self.config["jwks_uri"]).get_json()["keys"]}
        return decoded

    def validate_id_token(self, id_token: str, access_token: str | None = None) -> dict:
        """OIDC Core 3.1.3.7, step by step."""
        decoded = self.verify(id_token, "JWT")
        claims = decoded.claims
        assert claims["iss"] == self.issuer
        assert self.client_id in claims["aud"]
        assert claims["exp"] > clock.timestamp() >= claims["iat"] - 5
        assert claims["nonce"] == self.nonce
        if access_token:
            alg = decoded.header["alg"]
            digest = hashlib.sha256(access_token.encode()).digest()
            expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
            assert claims["at_hash"] == expected, alg
        return claims
