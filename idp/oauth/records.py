"""What the token, userinfo and introspection endpoints read and write on every request, in
hand-written SQL: one statement per lookup (the code or refresh token together with its grant and
its parent), into plain read-only records.

Why not the ORM here: these are the hottest paths (bench/). Loading mapped objects with their
joined relationships, and building each statement's cache key, cost more CPU than PostgreSQL spent
answering (py-spy: SQLAlchemy was 40 % of a code exchange). Text statements are parsed once and
carry their result types, so both SQLite and PostgreSQL give the same Python values. Everything
else (sign-in, activation, the CLI) uses the ORM models in idp.models.
"""

from dataclasses import dataclass

from authlib.oidc.core import AuthorizationCodeMixin
from sqlalchemy import JSON, Boolean, bindparam, text

from idp import clock, crypto
from idp.extensions import db
from idp.models.account import ACTIVE


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

_GRANT_AND_ACCOUNT = """
    g.id AS g_id, g.reference AS g_reference, g.sid AS g_sid, g.offline AS g_offline,
    g.revoked_at AS g_revoked_at,
    a.id AS a_id, a.subject AS a_subject, a.username AS a_username, a.name AS a_name,
    a.email AS a_email, a.status AS a_status, o.code AS a_organisation_code"""

_REDEEMABLE = "r.id, r.client_id, r.scope, r.sid, r.auth_time, r.amr, r.acr, r.issued_at, " \
              "r.expires_at, r.used_at"

_JOINS = """
    JOIN "grant" g ON g.id = r.grant_id
    JOIN account a ON a.id = r.account_id
    JOIN organisation o ON o.id = a.organisation_id"""

#: JSON and Boolean come back as str and int from SQLite: typed columns make both backends agree.
_TYPES = dict(amr=JSON, g_offline=Boolean)

CODE_BY_HASH = text(f"""
    SELECT {_REDEEMABLE}, r.redirect_uri, r.nonce, r.code_challenge, r.code_challenge_method,
           {_GRANT_AND_ACCOUNT}
    FROM authorization_code r {_JOINS}
    WHERE r.code_hash = :hash""").columns(**_TYPES)

REFRESH_TOKEN_BY_HASH = text(f"""
    SELECT {_REDEEMABLE}, {_GRANT_AND_ACCOUNT}
    FROM refresh_token r {_JOINS}
    WHERE r.token_hash = :hash""").columns(**_TYPES)

GRANT_BY_REFERENCE = text(f"""
    SELECT {_GRANT_AND_ACCOUNT}
    FROM "grant" g
    JOIN account a ON a.id = g.account_id
    JOIN organisation o ON o.id = a.organisation_id
    WHERE g.reference = :reference""").columns(g_offline=Boolean)

_CONSUME = {
    table: text(f"UPDATE {table} SET used_at = :now WHERE id = :id AND used_at IS NULL")
    for table in ("authorization_code", "refresh_token")
}

_GIVE_REFERENCE = text(
    'UPDATE "grant" SET reference = :reference WHERE id = :id AND reference IS NULL')
_REFERENCE = text('SELECT reference FROM "grant" WHERE id = :id')

_INSERT_GRANT = text("""
    INSERT INTO "grant" (reference, client_id, account_id, sid, offline, created_at)
    VALUES (:reference, :client_id, :account_id, :sid, :offline, :created_at)
    RETURNING id""")

_INSERT_CODE = text("""
    INSERT INTO authorization_code (code_hash, grant_id, client_id, account_id, redirect_uri,
                                    scope, nonce, code_challenge, code_challenge_method, sid,
                                    auth_time, amr, acr, issued_at, expires_at)
    VALUES (:code_hash, :grant_id, :client_id, :account_id, :redirect_uri, :scope, :nonce,
            :code_challenge, :code_challenge_method, :sid, :auth_time, :amr, :acr, :issued_at,
            :expires_at)""").bindparams(bindparam("amr", type_=JSON))

_INSERT_REFRESH_TOKEN = text("""
    INSERT INTO refresh_token (token_hash, grant_id, client_id, account_id, scope, sid,
                               auth_time, amr, acr, issued_at, expires_at)
    VALUES (:token_hash, :grant_id, :client_id, :account_id, :scope, :sid,
            :auth_time, :amr, :acr, :issued_at, :expires_at)""").bindparams(
    bindparam("amr", type_=JSON))


def _grant(row) -> GrantState:
    return GrantState(row.g_id, row.g_reference, row.g_sid, row.g_offline, row.g_revoked_at)


def _account(row) -> Parent:
    return Parent(row.a_id, row.a_subject, row.a_username, row.a_name, row.a_email,
                  row.a_status, row.a_organisation_code)


def _common(row) -> dict:
    return dict(id=row.id, client_id=row.client_id, scope=row.scope, sid=row.sid,
                auth_time=row.auth_time, amr=row.amr, acr=row.acr, issued_at=row.issued_at,
                expires_at=row.expires_at, used_at=row.used_at, grant=_grant(row),
                account=_account(row))


def _first(statement, **params):
    return db.session.execute(statement, params).first()


# -- lookups -----------------------------------------------------------------------------------

def code_by_hash(code_hash: str) -> Code | None:
    row = _first(CODE_BY_HASH, hash=code_hash)
    if row is None:
        return None
    return Code(**_common(row), redirect_uri=row.redirect_uri, nonce=row.nonce,
                code_challenge=row.code_challenge,
                code_challenge_method=row.code_challenge_method)


def refresh_token_by_hash(token_hash: str) -> RefreshToken | None:
    row = _first(REFRESH_TOKEN_BY_HASH, hash=token_hash)
    return None if row is None else RefreshToken(**_common(row))


def grant_by_reference(reference: str) -> tuple[GrantState, Parent] | None:
    """The grant an access token names (its ``gid`` claim), with the parent it was issued to."""
    row = _first(GRANT_BY_REFERENCE, reference=reference)
    return None if row is None else (_grant(row), _account(row))


# -- changes (the caller commits) --------------------------------------------------------------

def consume(record: _Redeemable) -> bool:
    """Mark a code or refresh token used; True for exactly one caller, however many race."""
    table = "authorization_code" if isinstance(record, Code) else "refresh_token"
    result = db.session.execute(_CONSUME[table], {"id": record.id, "now": clock.timestamp()})
    return result.rowcount == 1


def add_code(code_hash: str, signin, client_id: str, scope: str, redirect_uri: str,
             challenge: tuple[str, str], nonce: str | None, expires_in: int) -> None:
    """Record a code for the parent of the sign-in session ``signin``, and the new grant that
    every token from it will belong to (``offline`` with the scope offline_access)."""
    now = clock.timestamp()
    grant_id = db.session.execute(_INSERT_GRANT, dict(
        reference=crypto.new_token(16), client_id=client_id, account_id=signin.account_id,
        sid=signin.sid, offline="offline_access" in scope.split(), created_at=now)).scalar_one()
    db.session.execute(_INSERT_CODE, dict(
        code_hash=code_hash, grant_id=grant_id, client_id=client_id,
        account_id=signin.account_id, redirect_uri=redirect_uri, scope=scope, nonce=nonce,
        code_challenge=challenge[0], code_challenge_method=challenge[1], sid=signin.sid,
        auth_time=signin.auth_time, amr=signin.amr, acr=signin.acr, issued_at=now,
        expires_at=now + expires_in))


def add_refresh_token(token_hash: str, origin: _Redeemable, scope: str, expires_in: int) -> None:
    """Record a new refresh token of ``origin``'s grant; it inherits the sign-in it came from."""
    now = clock.timestamp()
    db.session.execute(_INSERT_REFRESH_TOKEN, dict(
        token_hash=token_hash, grant_id=origin.grant_id, client_id=origin.client_id,
        account_id=origin.account_id, scope=scope, sid=origin.sid, auth_time=origin.auth_time,
        amr=origin.amr, acr=origin.acr, issued_at=now, expires_at=now + expires_in))


def reference_of(grant: GrantState) -> str:
    """The grant's reference. A grant made by the release before has none (migration 0005):
    it gets one now, the same one however many requests race."""
    if grant.reference is not None:
        return grant.reference
    db.session.execute(_GIVE_REFERENCE, {"id": grant.id, "reference": crypto.new_token(16)})
    return db.session.execute(_REFERENCE, {"id": grant.id}).scalar_one()
