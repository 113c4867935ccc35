"""What the token, userinfo and introspection endpoints read and write on every request, in
hand-written SQL: one statement per lookup (the code or refresh token together with its grant and
its parent), into plain read-only records.

Why not the ORM here: these are the hottest paths (bench/). Loading mapped objects with their
joined relationships, and building each statement's cache key, cost more CPU than PostgreSQL spent
answering (py-spy: SQLAlchemy was 40 % of a code exchange). Why not even SQLAlchemy's ``text()``:
its execution context, result metadata and row processing cost a code exchange more than psycopg
itself (cProfile of the token view). The statements run on the DB-API cursor of the session's
own connection (idp.statements), so they belong to the request's one transaction and commit.
Everything else (sign-in, activation, the CLI) uses the ORM models in idp.models, but for a few
statements of the sign-in page and its POST.
"""

import json
from dataclasses import dataclass

from authlib.oidc.core import AuthorizationCodeMixin

from idp import clock, crypto
from idp.models.account import ACTIVE
from idp.statements import Statement
from idp.statements import execute as _execute  # by this name: tests/test_token_work.py counts


@dataclass(frozen=True, slots=True)
class Parent:
    """The account as tokens and userinfo describe it (idp.oauth.claims)."""

    id: int
    subject: str
    username: str
    name: str | None
    email: str
    status: str
    organisation_code: str

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def get_user_id(self) -> str:
        """Authlib's hook for the token ``sub``."""
        return self.subject


@dataclass(frozen=True, slots=True)
class GrantState:
    """What decides whether a grant's tokens may still be used (sessions.grant_is_live)."""

    id: int
    reference: str | None
    sid: str | None
    offline: bool
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class _Redeemable:
    """A single-use credential bound to a grant: an authorization code or a refresh token."""

    id: int
    client_id: str
    scope: str
    sid: str | None
    auth_time: int
    amr: list
    acr: str | None
    issued_at: int
    expires_at: int
    used_at: int | None
    grant: GrantState
    account: Parent

    @property
    def grant_id(self) -> int:
        return self.grant.id

    @property
    def account_id(self) -> int:
        return self.account.id

    def get_scope(self):
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= clock.timestamp()


@dataclass(frozen=True, slots=True)
class Code(_Redeemable, AuthorizationCodeMixin):
    """An authorization code (RFC 6749 4.1.2) with what the ID token needs of the sign-in."""

    redirect_uri: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return self.acr

    def get_amr(self):
        return self.amr


@dataclass(frozen=True, slots=True)
class RefreshToken(_Redeemable):
    """A refresh token, as Authlib's refresh grant asks it (``check_client``, ``get_scope``)."""

    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()


# -- statements (the benchmark shows their query plans: bench/probes.py) ------------------------

#: Column order of the records below: rows are unpacked by position.
_REDEEMABLE = "r.id, r.client_id, r.scope, r.sid, r.auth_time, r.amr, r.acr, r.issued_at, " \
              "r.expires_at, r.used_at"
_GRANT = "g.id, g.reference, g.sid, g.offline, g.revoked_at"
_ACCOUNT = "a.id, a.subject, a.username, a.name, a.email, a.status, o.code"
# Where each record's columns end in a row, counted from the lists above.
_REDEEMABLE_END = _REDEEMABLE.count(",") + 1
_GRANT_END = _REDEEMABLE_END + _GRANT.count(",") + 1
_ACCOUNT_END = _GRANT_END + _ACCOUNT.count(",") + 1

_JOINS = """
    JOIN "grant" g ON g.id = r.grant_id
    JOIN account a ON a.id = r.account_id
    JOIN organisation o ON o.id = a.organisation_id"""

CODE_BY_HASH = Statement(f"""
    SELECT {_REDEEMABLE}, {_GRANT}, {_ACCOUNT},
           r.redirect_uri, r.nonce, r.code_challenge, r.code_challenge_method
    FROM authorization_code r {_JOINS}
    WHERE r.code_hash = :hash""")

REFRESH_TOKEN_BY_HASH = Statement(f"""
    SELECT {_REDEEMABLE}, {_GRANT}, {_ACCOUNT}
    FROM refresh_token r {_JOINS}
    WHERE r.token_hash = :hash""")

GRANT_BY_REFERENCE = Statement(f"""
    SELECT {_GRANT}, {_ACCOUNT}
    FROM "grant" g
    JOIN account a ON a.id = g.account_id
    JOIN organisation o ON o.id = a.organisation_id
    WHERE g.reference = :reference""")

_CONSUME = {
    table: Statement(f"UPDATE {table} SET used_at = :now WHERE id = :id AND used_at IS NULL")
    for table in ("authorization_code", "refresh_token")
}

_GIVE_REFERENCE = Statement(
    'UPDATE "grant" SET reference = :reference WHERE id = :id AND reference IS NULL')
_REFERENCE = Statement('SELECT reference FROM "grant" WHERE id = :id')

_INSERT_GRANT = Statement("""
    INSERT INTO "grant" (reference, client_id, account_id, sid, offline, created_at)
    VALUES (:reference, :client_id, :account_id, :sid, :offline, :created_at)
    RETURNING id""")

#: ``amr`` is bound as JSON text: a json column on PostgreSQL, text on SQLite.
_INSERT_CODE = Statement("""
    INSERT INTO authorization_code (code_hash, grant_id, client_id, account_id, redirect_uri,
                                    scope, nonce, code_challenge, code_challenge_method, sid,
                                    auth_time, amr, acr, issued_at, expires_at)
    VALUES (:code_hash, :grant_id, :client_id, :account_id, :redirect_uri, :scope, :nonce,
            :code_challenge, :code_challenge_method, :sid, :auth_time, :amr, :acr, :issued_at,
            :expires_at)""")

_INSERT_REFRESH_TOKEN = Statement("""
    INSERT INTO refresh_token (token_hash, grant_id, client_id, account_id, scope, sid,
                               auth_time, amr, acr, issued_at, expires_at)
    VALUES (:token_hash, :grant_id, :client_id, :account_id, :scope, :sid,
            :auth_time, :amr, :acr, :issued_at, :expires_at)""")


def _grant(row) -> GrantState:
    # SQLite has no boolean: 0/1.
    return GrantState(row[0], row[1], row[2], bool(row[3]), row[4])


def _account(row) -> Parent:
    return Parent(*row)


def _common(row) -> dict:
    # PostgreSQL's json column arrives decoded; SQLite's text does not.
    amr = row[5] if not isinstance(row[5], str) else json.loads(row[5])
    return dict(id=row[0], client_id=row[1], scope=row[2], sid=row[3], auth_time=row[4],
                amr=amr, acr=row[6], issued_at=row[7], expires_at=row[8], used_at=row[9],
                grant=_grant(row[_REDEEMABLE_END:_GRANT_END]),
                account=_account(row[_GRANT_END:_ACCOUNT_END]))


def _first(statement: Statement, **params):
    return _execute(statement, params).fetchone()


# -- lookups -----------------------------------------------------------------------------------

def code_by_hash(code_hash: str) -> Code | None:
    row = _first(CODE_BY_HASH, hash=code_hash)
    if row is None:
        return None
    redirect_uri, nonce, code_challenge, code_challenge_method = row[_ACCOUNT_END:]
    return Code(**_common(row), redirect_uri=redirect_uri, nonce=nonce,
                code_challenge=code_challenge, code_challenge_method=code_challenge_method)


def refresh_token_by_hash(token_hash: str) -> RefreshToken | None:
    row = _first(REFRESH_TOKEN_BY_HASH, hash=token_hash)
    return None if row is None else RefreshToken(**_common(row))


def grant_by_reference(reference: str) -> tuple[GrantState, Parent] | None:
    """The grant an access token names (its ``gid`` claim), with the parent it was issued to."""
    row = _first(GRANT_BY_REFERENCE, reference=reference)
    if row is None:
        return None
    grant_end = _GRANT_END - _REDEEMABLE_END  # this statement starts with the grant's columns
    return _grant(row[:grant_end]), _account(row[grant_end:])


# -- changes (the caller commits) --------------------------------------------------------------

def consume(record: _Redeemable) -> bool:
    """Mark a code or refresh token used; True for exactly one caller, however many race."""
    table = "authorization_code" if isinstance(record, Code) else "refresh_token"
    return _execute(_CONSUME[table], {"id": record.id, "now": clock.timestamp()}).rowcount == 1


def add_code(code_hash: str, signin, client_id: str, scope: str, redirect_uri: str,
             challenge: tuple[str, str], nonce: str | None, expires_in: int) -> None:
    """Record a code for the parent of the sign-in session ``signin``, and the new grant that
    every token from it will belong to (``offline`` with the scope offline_access)."""
    now = clock.timestamp()
    grant_id = _first(
        _INSERT_GRANT, reference=crypto.new_token(16), client_id=client_id,
        account_id=signin.account_id, sid=signin.sid,
        offline="offline_access" in scope.split(), created_at=now)[0]
    _execute(_INSERT_CODE, dict(
        code_hash=code_hash, grant_id=grant_id, client_id=client_id,
        account_id=signin.account_id, redirect_uri=redirect_uri, scope=scope, nonce=nonce,
        code_challenge=challenge[0], code_challenge_method=challenge[1], sid=signin.sid,
        auth_time=signin.auth_time, amr=json.dumps(signin.amr), acr=signin.acr, issued_at=now,
        expires_at=now + expires_in))


def add_refresh_token(token_hash: str, origin: _Redeemable, scope: str, expires_in: int) -> None:
    """Record a new refresh token of ``origin``'s grant; it inherits the sign-in it came from."""
    now = clock.timestamp()
    _execute(_INSERT_REFRESH_TOKEN, dict(
        token_hash=token_hash, grant_id=origin.grant_id, client_id=origin.client_id,
        account_id=origin.account_id, scope=scope, sid=origin.sid, auth_time=origin.auth_time,
        amr=json.dumps(origin.amr), acr=origin.acr, issued_at=now, expires_at=now + expires_in))


def reference_of(grant: GrantState) -> str:
    """The grant's reference. A grant made by the release before has none (migration 0005):
    it gets one now, the same one however many requests race."""
    if grant.reference is not None:
        return grant.reference
    _execute(_GIVE_REFERENCE, {"id": grant.id, "reference": crypto.new_token(16)})
    return _first(_REFERENCE, id=grant.id)[0]
