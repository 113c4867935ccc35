"""What the load generator does against each server: one ``async def op(user)`` per measured
endpoint, and the pools of single-use things (codes, refresh tokens) they draw from.

``Ours`` drives Ouderportaal (sign-in page with password and TOTP); ``Peer`` drives
node-oidc-provider (its development login form). Both speak the same code and token grants.
"""

import base64
import hashlib
import random
import re
import secrets
import time
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

from bench import seed
from bench.httpclient import Connection
from bench.load import OutOfWork, User

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: Where the sign-in page's form posts: the flow that keeps the authorization request.
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def expect(response, *statuses):
    if response.status not in statuses:
        raise AssertionError(f"HTTP {response.status}: {response.body[:200]!r}")
    return response


class Server:
    """What both servers share: discovery, JWKS, the token grants and the pools."""

    discovery_path = "/.well-known/openid-configuration"
    jwks_path = "/jwks"
    authorize_path = "/authorize"
    token_path = "/token"

    def __init__(self, host: str, port: int, client: dict):
        self.host, self.port, self.client = host, port, client
        raw = f"{client['client_id']}:{client['client_secret']}".encode()
        self.basic = {"Authorization": "Basic " + base64.b64encode(raw).decode(), **FORM}
        self.verifier, self.challenge = pkce_pair()
        self.codes: list[str] = []
        self.refresh_tokens: list[str] = []
        self.access_tokens: list[str] = []

    def connection(self) -> Connection:
        return Connection(self.host, self.port)

    def authorization_query(self, challenge: str | None = None) -> str:
        return urlencode({
            "response_type": "code", "client_id": self.client["client_id"],
            "redirect_uri": self.client["redirect_uri"], "scope": "openid profile email",
            "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge or self.challenge, "code_challenge_method": "S256",
        })

    # --- measured operations --------------------------------------------------------------
    async def discovery(self, user: User):
        expect(await user.conn.request("GET", self.discovery_path), 200)

    async def jwks(self, user: User):
        expect(await user.conn.request("GET", self.jwks_path), 200)

    async def token_request(self, user: User, form: dict) -> dict:
        import json

        response = expect(await user.conn.request("POST", self.token_path, self.basic,
                                                  urlencode(form).encode()), 200)
        return json.loads(response.body)

    async def exchange(self, user: User, code: str | None = None, verifier: str | None = None):
        if code is None:
            if not self.codes:
                raise OutOfWork()
            code = self.codes.pop()
        tokens = await self.token_request(user, {
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": self.client["redirect_uri"], "code_verifier": verifier or self.verifier,
        })
        self.refresh_tokens.append(tokens["refresh_token"])
        if len(self.access_tokens) < 1000:
            self.access_tokens.append(tokens["access_token"])
        return tokens

    async def refresh(self, user: User):
        """Each user follows its own rotating chain: use the token, keep the new one."""
        token = user.state.get("refresh_token")
        if token is None:
            if not self.refresh_tokens:
                raise OutOfWork()
            token = self.refresh_tokens.pop()
        user.state.pop("refresh_token", None)
        tokens = await self.token_request(user, {"grant_type": "refresh_token", "refresh_token": token})
        user.state["refresh_token"] = tokens["refresh_token"]

    # --- pools ------------------------------------------------------------------------------
    async def collect_code(self, user: User):
        """One code from single sign-on: the user's browser already has a session."""
        response = expect(await user.conn.request(
            "GET", f"{self.authorize_path}?{self.authorization_query()}", user.cookie_header()), 302, 303)
        user.cookies.update(response.cookies)
        location = response.header("location")
        while not location.startswith(self.client["redirect_uri"]):  # the peer's own hops
            response = expect(await user.conn.request("GET", path_of(location), user.cookie_header()),
                              302, 303)
            user.cookies.update(response.cookies)
            location = response.header("location")
        self.codes.append(query_of(location)["code"])


class Ours(Server):
    def __init__(self, host, port, client, accounts: int):
        super().__init__(host, port, client)
        self.accounts = accounts
        self.last_step: dict[int, int] = {}
        #: Parents whose sign-in is under way: a second one could overtake it with the next
        #: step's code, and the service rightly refuses the first as a replay afterwards.
        self.signing_in: set[int] = set()
        self.user_agent_count = 0

    def _account_and_code(self) -> tuple[int, str]:
        """A parent not signing in already, and a TOTP code not used before: the replay guard
        allows each time step once per account, and accepts the previous, current and next."""
        now = time.time()
        current = int(now // 30)
        for _ in range(100):
            index = random.randrange(self.accounts)
            step = max(current, self.last_step.get(index, current - 1) + 1)
            if step <= current + 1 and index not in self.signing_in:
                self.last_step[index] = step
                self.signing_in.add(index)
                return index, seed.totp_code(step * 30)
        raise AssertionError("no account with an unused TOTP step (too few accounts)")

    async def sign_in(self, user: User) -> dict:
        """authorization request, answered with the sign-in page -> its POST with password and
        code, answered with the redirect to the relying party -> tokens. Three requests."""
        user.cookies.clear()
        verifier, challenge = pkce_pair()
        conn = user.conn
        page = expect(await conn.request(
            "GET", f"/authorize?{self.authorization_query(challenge)}"), 200)
        user.cookies.update(page.cookies)
        html = page.body.decode()
        login = unescape(FORM_ACTION.search(html).group(1))
        index, code = self._account_and_code()
        form = {"csrf_token": CSRF.search(html).group(1),
                "organisation": seed.ORG_CODE, "username": seed.username(index),
                "password": seed.PASSWORD, "code": code}
        try:
            response = expect(await conn.request(
                "POST", login, {**user.cookie_header(), **FORM}, urlencode(form).encode()), 302)
        finally:
            self.signing_in.discard(index)
        user.cookies.update(response.cookies)
        code = query_of(response.header("location"))["code"]
        return await self.exchange(user, code, verifier)

    async def userinfo(self, user: User):
        token = random.choice(self.access_tokens)
        expect(await user.conn.request("GET", "/userinfo", {"Authorization": f"Bearer {token}"}), 200)

    async def introspect(self, user: User):
        import json

        token = random.choice(self.access_tokens)
        response = expect(await user.conn.request("POST", "/introspect", self.basic, urlencode(
            {"token": token, "token_type_hint": "access_token"}).encode()), 200)
        if not json.loads(response.body).get("active"):
            raise AssertionError("introspection says the token is not active")

    async def signed_in_user(self) -> User:
        """A browser with a live session, for collecting codes by single sign-on."""
        user = User(self.connection())
        await self.sign_in(user)
        return user


class Peer(Server):
    """node-oidc-provider (bench/peer/server.mjs): its routes and development login."""

    jwks_path = "/jwks"
    authorize_path = "/auth"

    async def signed_in_user(self) -> User:
        user = User(self.connection())
        response = expect(await user.conn.request(
            "GET", f"/auth?{self.authorization_query()}"), 302, 303)
        user.cookies.update(response.cookies)
        interaction = path_of(response.header("location"))
        page = expect(await user.conn.request("GET", interaction, user.cookie_header()), 200)
        user.cookies.update(page.cookies)
        response = expect(await user.conn.request(
            "POST", interaction, {**user.cookie_header(), **FORM},
            urlencode({"prompt": "login", "login": "bench-parent"}).encode()), 302, 303)
        user.cookies.update(response.cookies)
        location = response.header("location")
        while not location.startswith(self.client["redirect_uri"]):
            response = expect(await user.conn.request("GET", path_of(location), user.cookie_header()),
                              302, 303)
            user.cookies.update(response.cookies)
            location = response.header("location")
        return user
