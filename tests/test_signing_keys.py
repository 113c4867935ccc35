"""Signing keys rotated, revoked and imported while parents sign in and the dossier service
verifies their tokens: nobody notices a routine rotation, an emergency takes effect at once."""

import base64
import hashlib
import json
import threading

import pytest
from alembic import command
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jws, jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select, update

from idp import audit, clock, create_app, keys
from idp.keys import lifecycle as key_lifecycle, schedule as key_schedule
from idp.cli.db import alembic_config
from idp.cli.table import when
from idp.extensions import db
from idp.models import AuditEvent, SigningKey
from tests.actors import RelyingParty
from tests.conftest import BASE_SETTINGS
from tests.resource_server import DossierService, UnknownKid

#: For checks of a command's input: refused before any storage is touched, so one backend does.
ONE_BACKEND = pytest.mark.parametrize("backend", ["sqlite"])
PUBLIC_MEMBERS = {"RSA": {"kty", "kid", "alg", "use", "n", "e"},
                  "EC": {"kty", "kid", "alg", "use", "crv", "x", "y"}}


# --- helpers -----------------------------------------------------------------------------------
def tokens_for(rp, parent) -> dict:
    """An authorization request and code exchange; signs in only when there is no session."""
    response = parent.browser.get(rp.authorization_url())
    if response.status_code == 200:  # the sign-in page
        response = parent.sign_in(page=response)
    tokens = rp.exchange(rp.callback_params(response)["code"])
    assert tokens.status_code == 200, tokens.get_json()
    return tokens.get_json()


def kid_of(token: str) -> str:
    return jws.extract_compact(token.encode()).headers()["kid"]


def kid_in(app, alg: str, state: str) -> str:
    with app.app_context():
        kids = db.session.scalars(
            select(SigningKey.kid).where(SigningKey.alg == alg, SigningKey.state == state)).all()
    assert len(kids) == 1, (alg, state, kids)
    return kids[0]


def stored(app, kid: str) -> dict:
    with app.app_context():
        key = db.session.scalar(select(SigningKey).where(SigningKey.kid == kid))
        return {c.name: getattr(key, c.name) for c in SigningKey.__table__.columns}


def states(app, alg=None) -> dict[str, str]:
    """kid -> state of every stored key (of one algorithm)."""
    query = select(SigningKey.kid, SigningKey.state)
    if alg:
        query = query.where(SigningKey.alg == alg)
    with app.app_context():
        return dict(db.session.execute(query).all())


def audit_events(app, prefix="") -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action.startswith(prefix))
                                  .order_by(AuditEvent.id))
        return [{"actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail}
                for e in rows]


def jwks_kids(client) -> set[str]:
    return {key["kid"] for key in client.get("/jwks").get_json()["keys"]}


def advance_until_next_keys_are_ready(app):
    """The suite's keys were published when the session started; let the lead time pass."""
    clock.advance(key_schedule.publication_lead(app.config))


def rotate(runner, *args):
    result = runner.invoke(args=["keys", "rotate", *args])
    assert result.exit_code == 0, result.output
    return result


# --- a routine rotation ------------------------------------------------------------------------
def test_routine_rotation_goes_unnoticed_by_the_dossier_service(world, app, client, runner):
    parent, rp = world
    dossier = DossierService(client, audience=rp.client_id)
    before = tokens_for(rp, parent)
    old_kid, next_kid = kid_in(app, "ES256", "active"), kid_in(app, "ES256", "next")
    old_id_kid, next_id_kid = kid_in(app, "RS256", "active"), kid_in(app, "RS256", "next")
    # Access tokens are ES256, this client's ID tokens RS256 (the default).
    assert (kid_of(before["access_token"]), kid_of(before["id_token"])) == (old_kid, old_id_kid)
    dossier.verify(before["access_token"])

    # The next keys are published before they sign anything...
    assert {next_kid, next_id_kid} <= dossier.cached_kids()
    first_seen = clock.now()
    advance_until_next_keys_are_ready(app)
    dossier.kids()  # its copy went stale: it fetches the JWKS, a moment before the rotation
    fetches = len(dossier.fetched_at)

    rotate(runner)
    after = tokens_for(rp, parent)

    # ...new tokens carry the new kids, and the dossier's cached JWKS already knows them.
    assert (kid_of(after["access_token"]), kid_of(after["id_token"])) == (next_kid, next_id_kid)
    assert dossier.verify(after["access_token"])["sub"] == \
        rp.validate_id_token(after["id_token"])["sub"]
    assert len(dossier.fetched_at) == fetches
    published = stored(app, next_kid)["created_at"]
    assert published <= first_seen
    lead = key_schedule.publication_lead(app.config)
    assert dossier.verify(after["access_token"])["iat"] >= published + lead

    # A token signed before the rotation still verifies, here and at userinfo, until it expires.
    clock.freeze(dossier.verify(before["access_token"])["exp"] - 0.5)
    assert dossier.verify(before["access_token"])
    assert rp.userinfo(before["access_token"]).status_code == 200
    clock.advance(0.5)
    assert rp.userinfo(before["access_token"]).status_code == 401
    with pytest.raises(ValueError, match="expired"):
        dossier.verify(before["access_token"])

    # The retired key stays in the JWKS exactly until retired + longest token lifetime + cache TTL.
    retired = stored(app, old_kid)
    assert retired["state"] == "retired"
    removed = retired["retired_at"] + max(300, 300, 120) + 30
    assert when(removed) in runner.invoke(args=["keys", "list"]).output
    clock.freeze(removed - 0.001)
    assert old_kid in jwks_kids(client)
    clock.freeze(removed)
    assert old_kid not in jwks_kids(client)
    assert next_kid in jwks_kids(client)


def test_rotation_of_every_algorithm_reaches_es256_clients_too(world, app, client, runner,
                                                              make_client):
    parent, rp = world
    registered = make_client(name="Dossier ES", alg="ES256",
                             redirect_uris=("https://es.dossier.test/cb",))
    es_rp = RelyingParty(client, registered["client_id"], registered["client_secret"],
                         registered["redirect_uri"])
    es_next, rs_next = kid_in(app, "ES256", "next"), kid_in(app, "RS256", "next")
    advance_until_next_keys_are_ready(app)
    output = rotate(runner).output
    assert f"ES256: {es_next} signs now" in output and f"RS256: {rs_next} signs now" in output
    tokens = tokens_for(es_rp, parent)
    assert kid_of(tokens["id_token"]) == es_next
    assert kid_of(tokens["access_token"]) == es_next  # access tokens are always ES256
    es_rp.validate_id_token(tokens["id_token"], tokens["access_token"])
    # Every algorithm has a new next key, already published.
    for alg in ("RS256", "ES256"):
        assert kid_in(app, alg, "next") in jwks_kids(client)


def test_rotate_refuses_a_next_key_published_too_recently(app, runner, frozen_clock):
    advance_until_next_keys_are_ready(app)
    rotate(runner, "--alg", "RS256")
    young = kid_in(app, "RS256", "next")
    before = states(app)

    clock.advance(key_schedule.publication_lead(app.config) - 1)
    result = runner.invoke(args=["keys", "rotate", "--alg", "RS256"])
    assert result.exit_code == 1
    assert f"The next key {young} was published" in result.output
    assert "can become active from" in result.output and "Nothing changed." in result.output
    assert "Traceback" not in result.output
    assert states(app) == before

    clock.advance(1)
    rotate(runner, "--alg", "RS256")
    assert kid_in(app, "RS256", "active") == young


def test_scheduled_rotation_is_a_no_op_while_the_active_key_is_young(app, runner, frozen_clock):
    active = kid_in(app, "RS256", "active")
    before = states(app)
    clock.advance(89 * 86400)
    result = rotate(runner, "--if-older-than", "90d")
    assert "nothing to do" in result.output
    assert states(app) == before
    assert audit_events(app, "signing_key.rotate") == []

    clock.advance(86400)
    rotate(runner, "--if-older-than", "90d")
    assert stored(app, active)["state"] == "retired"


@ONE_BACKEND
@pytest.mark.parametrize("value", ["ninety", "90x", "-1d", "", "1.5d"])
def test_rotate_refuses_an_unreadable_age(runner, value):
    result = runner.invoke(args=["keys", "rotate", "--if-older-than", value])
    assert result.exit_code == 2
    assert "use a number with s, m, h, d or w" in result.output


# --- an emergency ------------------------------------------------------------------------------
def test_revoked_key_is_gone_at_once_and_its_tokens_fail(world, app, client, runner):
    parent, rp = world
    tokens = tokens_for(rp, parent)
    # The access token's key (ES256); the ID tokens' keys (RS256) are left alone.
    revoked, replacement = kid_in(app, "ES256", "active"), kid_in(app, "ES256", "next")
    es_keys = states(app, "RS256")
    assert rp.userinfo(tokens["access_token"]).status_code == 200

    result = runner.invoke(args=["keys", "revoke", revoked, "--yes"])
    assert result.exit_code == 0, result.output
    assert f"ES256 tokens are signed by {replacement}" in result.output

    assert revoked not in jwks_kids(client)
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    with pytest.raises(UnknownKid):
        DossierService(client).verify(tokens["access_token"])
    with app.app_context():
        assert revoked not in {key.kid for key in keys.verification_keys()}

    # Parents carry on: new tokens come from the next key, which relying parties already have.
    fresh = tokens_for(rp, parent)
    assert kid_of(fresh["access_token"]) == replacement
    assert rp.userinfo(fresh["access_token"]).status_code == 200
    new_next = kid_in(app, "ES256", "next")
    assert new_next not in (revoked, replacement) and new_next in jwks_kids(client)
    assert states(app, "RS256") == es_keys
    assert stored(app, revoked)["revoked_at"] == clock.timestamp()


def test_a_change_made_by_another_process_is_used_within_the_cache_ttl(world, app, client):
    parent, rp = world
    tokens = tokens_for(rp, parent)
    kid = kid_in(app, "ES256", "active")  # the access token's key
    keys.forget_cache()
    loaded = clock.now()
    assert kid in jwks_kids(client)  # this worker loads the keys now
    with app.app_context():  # another process revokes it: this one is not told
        db.session.execute(update(SigningKey).where(SigningKey.kid == kid)
                           .values(state="revoked", revoked_at=clock.timestamp()))
        db.session.commit()

    clock.freeze(loaded + app.config["IDP_KEYS_CACHE_TTL"] - 0.5)
    assert kid in jwks_kids(client)
    assert rp.userinfo(tokens["access_token"]).status_code == 200
    clock.freeze(loaded + app.config["IDP_KEYS_CACHE_TTL"])
    assert kid not in jwks_kids(client)
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_revoke_asks_for_confirmation(app, runner):
    kid = kid_in(app, "ES256", "active")
    declined = runner.invoke(args=["keys", "revoke", kid], input="n\n")
    assert declined.exit_code == 1
    assert f"Revoke the active ES256 key {kid}?" in declined.output
    assert "Nothing changed." in declined.output
    assert stored(app, kid)["state"] == "active"
    assert audit_events(app, "signing_key.revoke") == []

    confirmed = runner.invoke(args=["keys", "revoke", kid], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert stored(app, kid)["state"] == "revoked"

    again = runner.invoke(args=["keys", "revoke", kid, "--yes"])
    assert again.exit_code == 1 and "already revoked" in again.output


@ONE_BACKEND
@pytest.mark.parametrize("kid", ["no-such-kid", "-starts-like-an-option"])
def test_revoke_of_an_unknown_kid_is_a_clear_error(runner, kid):
    result = runner.invoke(args=["keys", "revoke", kid, "--yes"])
    assert result.exit_code == 1
    assert f"there is no signing key with kid '{kid}'" in result.output


# --- the JWKS ----------------------------------------------------------------------------------
def test_jwks_holds_only_public_members_in_every_state(app, client, runner, tmp_path, pems,
                                                     frozen_clock):
    advance_until_next_keys_are_ready(app)
    rotate(runner)
    (tmp_path / "ec.pem").write_bytes(pems["ec-p256"])
    assert runner.invoke(args=["keys", "import", str(tmp_path / "ec.pem")]).exit_code == 0
    revoked = runner.invoke(args=["keys", "revoke", kid_in(app, "RS256", "next"), "--yes"])
    assert revoked.exit_code == 0
    # Even a stored public JWK that somehow held a private member is not published with it.
    active = kid_in(app, "RS256", "active")
    with app.app_context():
        key = db.session.scalar(select(SigningKey).where(SigningKey.kid == active))
        key.public_jwk = {**key.public_jwk, "d": "c2VjcmV0", "k": "c2VjcmV0"}
        db.session.commit()
    keys.forget_cache()

    published = client.get("/jwks").get_json()["keys"]
    assert {key["kid"] for key in published} == {
        kid for kid, state in states(app).items()
        if state in ("next", "active") or (state == "retired" and stored(app, kid)["activated_at"])
    }
    for key in published:
        assert key["kty"] in PUBLIC_MEMBERS, key["kty"]  # never "oct" (symmetric)
        assert set(key) == PUBLIC_MEMBERS[key["kty"]], key
        assert key["use"] == "sig" and key["alg"] in ("RS256", "ES256")


def test_jwks_caching_headers_match_the_cache_ttl(app, client, runner, frozen_clock):
    response = client.get("/jwks")
    assert response.headers["Cache-Control"] == "public, max-age=30"
    etag = response.headers["ETag"]
    unchanged = client.get("/jwks", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""

    advance_until_next_keys_are_ready(app)
    rotate(runner)
    changed = client.get("/jwks", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag

    app.config["IDP_KEYS_CACHE_TTL"] = 7
    assert client.get("/jwks").headers["Cache-Control"] == "public, max-age=7"


def test_kid_is_the_rfc7638_thumbprint(client):
    for key in client.get("/jwks").get_json()["keys"]:
        required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[key["kty"]]
        canonical = json.dumps({m: key[m] for m in required}, separators=(",", ":"),
                               sort_keys=True)
        digest = hashlib.sha256(canonical.encode()).digest()
        assert key["kid"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- the timings --------------------------------------------------------------------------------
SCHEDULE_DEFAULTS = {"IDP_KEYS_CACHE_TTL": 30, "IDP_ID_TOKEN_TTL": 300, "IDP_ACCESS_TOKEN_TTL": 300,
                     "IDP_LOGOUT_TOKEN_TTL": 120}


@pytest.mark.parametrize("changes, lead, retention", [
    ({}, 60, 330),
    ({"IDP_LOGOUT_TOKEN_TTL": 900}, 60, 930),
    ({"IDP_ID_TOKEN_TTL": 3600}, 60, 3630),
    ({"IDP_ACCESS_TOKEN_TTL": 1200, "IDP_KEYS_CACHE_TTL": 5}, 10, 1205),
], ids=["defaults", "long-logout-token", "long-id-token", "long-access-token-short-cache"])
def test_timings_follow_the_configured_lifetimes(changes, lead, retention):
    config = {**SCHEDULE_DEFAULTS, **changes}
    assert key_schedule.publication_lead(config) == lead
    assert key_schedule.retention(config) == retention
    retired = SigningKey(state="retired", created_at=0, activated_at=100, retired_at=1000)
    assert key_schedule.removed_at(retired, config) == 1000 + retention
    assert key_schedule.is_published(retired, config, 1000 + retention - 0.001)
    assert not key_schedule.is_published(retired, config, 1000 + retention)
    never_signed = SigningKey(state="retired", created_at=0, activated_at=None, retired_at=1000)
    assert not key_schedule.is_published(never_signed, config, 1000)


# --- keys list and ensure ----------------------------------------------------------------------
def test_keys_list_shows_every_key_and_its_times(app, runner, frozen_clock):
    advance_until_next_keys_are_ready(app)
    rotate(runner, "--alg", "ES256")
    lines = runner.invoke(args=["keys", "list"]).output.splitlines()
    assert lines[0].split() == ["kid", "alg", "state", "created", "activated", "retired",
                                "will", "be", "removed"]
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    retired = stored(app, kid_in(app, "ES256", "retired"))
    row = rows[retired["kid"]]
    assert "ES256" in row and "retired" in row
    assert when(retired["retired_at"]) in row
    assert row.rstrip().endswith(when(retired["retired_at"] + 330))
    fresh = stored(app, kid_in(app, "ES256", "next"))
    assert f"(ready {when(fresh['created_at'] + 60)})" in rows[fresh["kid"]]
    assert "A retired key stays in the JWKS 330 s" in "\n".join(lines)


def test_ensure_keeps_a_next_key_ready_for_every_algorithm(app, runner):
    with app.app_context():  # a database from before next keys existed
        db.session.execute(update(SigningKey).where(SigningKey.state == "next")
                           .values(state="retired", retired_at=clock.timestamp()))
        db.session.commit()
    made = runner.invoke(args=["keys", "ensure"])
    assert made.exit_code == 0 and made.output.count("(next)") == 2
    for alg in ("RS256", "ES256"):
        assert sorted(states(app, alg).values()) == ["active", "next", "retired"]
    again = runner.invoke(args=["keys", "ensure"])
    assert "Every algorithm has an active key and a next key." in again.output


def test_first_use_without_any_key_makes_them(app, client):
    with app.app_context():
        db.session.execute(SigningKey.__table__.delete())
        db.session.commit()
    keys.forget_cache()
    assert len(jwks_kids(client)) == 4
    made = [e for e in audit_events(app, "signing_key.create") if e["actor"] == audit.SERVICE]
    assert sorted(e["detail"]["state"] for e in made) == ["active", "active", "next", "next"]


def test_migration_keeps_one_active_key_per_algorithm(tmp_path):
    fresh = create_app({**BASE_SETTINGS, "IDP_INSTANCE_DIR": str(tmp_path),
                        "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}"})
    with fresh.app_context():
        with db.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            for kid in ("first", "second"):  # two workers raced at first use, before 0003
                connection.exec_driver_sql(
                    "INSERT INTO signing_key (kid, alg, state, public_jwk, private_key_encrypted,"
                    " created_at, activated_at) VALUES (?, 'RS256', 'active', '{}', x'00', 1, 1)",
                    (kid,))
        with db.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        assert dict(db.session.execute(select(SigningKey.kid, SigningKey.state)).all()) == {
            "first": "retired", "second": "active"}
        db.session.remove()
        db.engine.dispose()


# Concurrency is proven on PostgreSQL, where several workers share rows.
@pytest.mark.parametrize("backend", ["postgres"])
def test_two_rotations_at_once_rotate_once(app, frozen_clock, monkeypatch):
    advance_until_next_keys_are_ready(app)
    active = kid_in(app, "RS256", "active")
    both_read = threading.Barrier(2, timeout=10)
    ready_at = key_schedule.ready_at

    def ready_when_both_have_read(key, config):
        both_read.wait()
        return ready_at(key, config)

    monkeypatch.setattr(key_schedule, "ready_at", ready_when_both_have_read)
    outcomes = []

    def run():
        with app.app_context():
            outcomes.extend(key_lifecycle.rotate("racer", ("RS256",)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Rotated"]
    assert "Run it again." in next(o.message for o in outcomes if hasattr(o, "message"))
    assert stored(app, active)["state"] == "retired"
    assert len(audit_events(app, "signing_key.rotate")) == 1


# --- import ------------------------------------------------------------------------------------
def _pem(key, password: bytes | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption)


@pytest.fixture(scope="module")
def pems():
    rsa_2048 = rsa.generate_private_key(65537, 2048)
    return {
        "rsa-2048": _pem(rsa_2048),
        "rsa-2048-encrypted": _pem(rsa_2048, b"geheim wachtwoord"),
        "rsa-2048-public": rsa_2048.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "rsa-1024": _pem(rsa.generate_private_key(65537, 1024)),
        "rsa-e3": _pem(rsa.generate_private_key(3, 2048)),
        "ec-p256": _pem(ec.generate_private_key(ec.SECP256R1())),
        "ec-p384": _pem(ec.generate_private_key(ec.SECP384R1())),
        "ed25519": _pem(ed25519.Ed25519PrivateKey.generate()),
        "not-pem": b"this is no key\n",
        "damaged": b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    }


def test_imported_pem_is_published_first_and_then_signs(world, app, client, runner, tmp_path,
                                                       pems):
    parent, rp = world
    path = tmp_path / "oud-systeem.pem"
    path.write_bytes(pems["rsa-2048"])
    replaced = kid_in(app, "RS256", "next")
    result = runner.invoke(args=["keys", "import", str(path), "--actor", "Anna (beheer)"])
    assert result.exit_code == 0, result.output
    original = RSAKey.import_key(serialization.load_pem_private_key(pems["rsa-2048"], None)
                                 .public_key())
    kid = original.thumbprint()
    assert f"Imported RS256 key {kid} as the next key" in result.output
    assert "BEGIN" not in result.output
    assert kid_in(app, "RS256", "next") == kid and kid in jwks_kids(client)
    assert replaced not in jwks_kids(client)  # it never signed: gone at once
    assert pems["rsa-2048"] not in bytes(stored(app, kid)["private_key_encrypted"])

    advance_until_next_keys_are_ready(app)
    rotate(runner, "--alg", "RS256")
    tokens = tokens_for(rp, parent)
    assert kid_of(tokens["id_token"]) == kid
    # Signed by the very key in the file: its own public key verifies the token.
    assert jwt.decode(tokens["id_token"], original, algorithms=["RS256"]).claims["sub"]

    again = runner.invoke(args=["keys", "import", str(path)])
    assert again.exit_code == 1 and f"this key is already here (kid {kid}, active)" in again.output
    assert audit_events(app, "signing_key.import") == [{
        "actor": "Anna (beheer)", "action": "signing_key.import", "target": kid,
        "detail": {"alg": "RS256", "source": "oud-systeem.pem", "replaced": replaced}}]


def test_import_of_an_ec_key_and_an_encrypted_pem(app, runner, tmp_path, pems):
    ec_path, encrypted = tmp_path / "ec.pem", tmp_path / "versleuteld.pem"
    ec_path.write_bytes(pems["ec-p256"])
    encrypted.write_bytes(pems["rsa-2048-encrypted"])
    result = runner.invoke(args=["keys", "import", str(ec_path), "--alg", "ES256"])
    assert result.exit_code == 0 and "Imported ES256 key" in result.output

    wrong = runner.invoke(args=["keys", "import", str(encrypted)], input="fout\n")
    assert wrong.exit_code == 1 and "the passphrase is wrong" in wrong.output
    right = runner.invoke(args=["keys", "import", str(encrypted)], input="geheim wachtwoord\n")
    assert right.exit_code == 0, right.output
    assert "geheim wachtwoord" not in right.output.replace("Passphrase of the key: ", "")


REFUSED_IMPORTS = [
    ("rsa-1024", None, "an RSA key of 1024 bits is too weak; at least 2048 bits"),
    ("rsa-e3", None, "the RSA public exponent 3 is unsafe"),
    ("ec-p384", None, "an EC key on curve secp384r1 is not supported; ES256 needs P-256"),
    ("ed25519", None, "Ed25519 keys are not supported"),
    ("rsa-2048-public", None, "the file holds no private key"),
    ("not-pem", None, "the file is not PEM"),
    ("damaged", None, "the PEM private key could not be read"),
    ("rsa-2048", "ES256", "this is a key for RS256, not ES256"),
]


@ONE_BACKEND
@pytest.mark.parametrize("name, alg, message", REFUSED_IMPORTS,
                         ids=[f"{n}-as-{a}" if a else n for n, a, _ in REFUSED_IMPORTS])
def test_import_refuses_weak_or_unsupported_keys(app, runner, tmp_path, pems, name, alg, message):
    path = tmp_path / f"{name}.pem"
    path.write_bytes(pems[name])
    before = states(app)
    result = runner.invoke(args=["keys", "import", str(path), *(["--alg", alg] if alg else [])])
    assert result.exit_code == 1
    assert f"Error: {path}: {message}" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert states(app) == before


@ONE_BACKEND
def test_import_of_a_missing_file(runner, tmp_path):
    result = runner.invoke(args=["keys", "import", str(tmp_path / "weg.pem")])
    assert result.exit_code == 2 and "does not exist" in result.output


# --- audit -------------------------------------------------------------------------------------
def test_every_key_operation_is_audited(app, runner, frozen_clock, monkeypatch):
    monkeypatch.setattr(audit.getpass, "getuser", lambda: "beheerder")
    advance_until_next_keys_are_ready(app)
    retired, activated = kid_in(app, "ES256", "active"), kid_in(app, "ES256", "next")
    rotate(runner, "--alg", "ES256", "--actor", "jan@ppo-rotterdam.nl")
    new_next = kid_in(app, "ES256", "next")
    assert runner.invoke(args=["keys", "revoke", new_next, "--yes"]).exit_code == 0
    replacement = kid_in(app, "ES256", "next")

    events = audit_events(app, "signing_key.")[-3:]
    assert events == [
        {"actor": "jan@ppo-rotterdam.nl", "action": "signing_key.rotate", "target": activated,
         "detail": {"alg": "ES256", "retired": retired, "next": new_next,
                    "retired_removed_at": stored(app, retired)["retired_at"] + 330}},
        {"actor": "beheerder", "action": "signing_key.revoke", "target": new_next,
         "detail": {"alg": "ES256", "previous_state": "next"}},
        {"actor": "beheerder", "action": "signing_key.create", "target": replacement,
         "detail": {"alg": "ES256", "state": "next", "reason": f"revoke of {new_next}"}},
    ]
    listed = runner.invoke(args=["audit", "list", "--action", "signing_key.r", "--limit", "5"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["at", "actor", "action", "target", "detail"]
    assert "signing_key.revoke" in lines[1] and "beheerder" in lines[1]
    assert "signing_key.rotate" in lines[2] and "jan@ppo-rotterdam.nl" in lines[2]
    assert len(lines) == 3


@ONE_BACKEND
@pytest.mark.parametrize("actor", ["", " ", "x" * 151, "naam\x1b[31m"],
                         ids=["empty", "blank", "too-long", "control-characters"])
def test_actor_must_be_a_readable_name(runner, actor):
    result = runner.invoke(args=["keys", "ensure", "--actor", actor])
    assert result.exit_code == 2 and "printable characters" in result.output
