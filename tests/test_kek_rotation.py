"""Rotating the key-encryption key: every secret at rest moves to the new KEK in one go, and
parents sign in (password + authenticator code) and get signed tokens as before."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update

from idp import create_app, crypto, keys
from idp.auth import totp
from idp.crypto import SecretBox
from idp.extensions import db
from idp.keys.kek_rotation import ENCRYPTED_COLUMNS
from idp.models import Activation, AuditEvent, SigningKey
from tests.actors import Parent, RelyingParty
from tests.conftest import BASE_SETTINGS, KEK
from tests.test_signing_keys import tokens_for


@pytest.fixture
def app_with(app):
    """Another app on this test's databases with other settings: a worker restarted with a
    new configuration."""
    made = []

    def make(**changes):
        settings = {k: v for k, v in app.config.items() if k.startswith("IDP_")}
        made.append(create_app({**settings, "TESTING": True, "SERVER_NAME": "idp.test",
                                **changes}))
        keys.forget_cache()  # one process, two apps: don't sign with the other app's keys
        return made[-1]

    yield make
    keys.forget_cache()
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        store = other.extensions["idp.store"]
        if hasattr(store, "close"):
            store.close()


def raw(kek: str) -> bytes:
    return base64.urlsafe_b64decode(kek + "=" * (-len(kek) % 4))


def encrypted_secrets(app) -> dict[tuple[str, int], tuple[bytes, str]]:
    """(table, id) -> (stored blob, purpose) for every secret at rest."""
    found = {}
    with app.app_context():
        for model, column, purpose in ENCRYPTED_COLUMNS:
            for row_id, blob in db.session.execute(select(model.id, column)
                                                   .where(column.is_not(None))):
                found[(model.__tablename__, row_id)] = (bytes(blob), purpose)
    return found


def run(app, *args):
    return app.test_cli_runner().invoke(args=["keys", *args])


def test_every_encrypted_column_is_rotated():
    encrypted = {(table.name, column.name) for table in db.metadata.sorted_tables
                 for column in table.columns if column.name.endswith("_encrypted")}
    rotated = {(model.__tablename__, column.key) for model, column, _ in ENCRYPTED_COLUMNS}
    assert encrypted == rotated


def test_secret_box_writes_under_the_current_kek_and_reads_former_ones():
    old, new = os.urandom(32), os.urandom(32)
    old_blob = SecretBox(old).encrypt(b"JBSWY3DPEHPK3PXP", totp.PURPOSE)
    box = SecretBox(new, [old])
    assert box.decrypt(old_blob, totp.PURPOSE) == b"JBSWY3DPEHPK3PXP"
    assert not box.is_current(old_blob, totp.PURPOSE)
    new_blob = box.encrypt(b"JBSWY3DPEHPK3PXP", totp.PURPOSE)
    assert box.is_current(new_blob, totp.PURPOSE)
    with pytest.raises(InvalidTag):
        SecretBox(old).decrypt(new_blob, totp.PURPOSE)
    with pytest.raises(InvalidTag):  # the purpose is bound: a TOTP secret is no signing key
        box.decrypt(old_blob, keys.PURPOSE)


def test_a_decrypt_only_kek_of_the_wrong_length_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="a key-encryption key must be 32 bytes"):
        create_app({**BASE_SETTINGS, "IDP_INSTANCE_DIR": str(tmp_path),
                    "IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY": "dGUta29ydA"})


def test_kek_rotation_keeps_sign_in_and_signing_working(world, app, app_with, mailbox, invite):
    parent, rp = world
    invite(username="Tweede.ouder", email="tweede@example.org")  # an activation still waiting
    secrets_before = encrypted_secrets(app)
    tables = [table for table, _ in secrets_before]
    new_kek = crypto.new_kek()

    # Workers run with the new KEK and still read the old one; then the command moves everything.
    rotating = app_with(IDP_KEY_ENCRYPTION_KEY=new_kek, IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY=KEK)
    result = run(rotating, "rotate-kek", "--actor", "beheerder")
    assert result.exit_code == 0, result.output
    assert (f"Re-encrypted {len(secrets_before)} secret(s) under key-encryption key "
            f"{crypto.kek_id(raw(new_kek))}") in result.output
    for table in ("signing_key", "account", "activation"):
        assert f"{table} {tables.count(table)}" in result.output
    assert tables.count("account") == 1 and tables.count("activation") == 2

    again = run(rotating, "rotate-kek")
    assert again.exit_code == 0 and "nothing to do" in again.output

    old_box, new_box = SecretBox(raw(KEK)), SecretBox(raw(new_kek))
    secrets_after = encrypted_secrets(app)
    assert secrets_after.keys() == secrets_before.keys()
    for place, (blob, purpose) in secrets_after.items():
        assert new_box.is_current(blob, purpose) and not old_box.is_current(blob, purpose), place
        assert new_box.decrypt(blob, purpose) == old_box.decrypt(secrets_before[place][0], purpose)

    # Restarted with the new KEK alone: the parent signs in with the authenticator code, gets
    # tokens signed with the re-encrypted keys, and the waiting parent can still activate.
    restarted = app_with(IDP_KEY_ENCRYPTION_KEY=new_kek)
    browser = restarted.test_client()
    same_parent = Parent(browser, mailbox)
    same_parent.secret = parent.secret
    same_rp = RelyingParty(browser, rp.client_id, rp.client_secret, rp.redirect_uri)
    tokens = tokens_for(same_rp, same_parent)
    claims = same_rp.validate_id_token(tokens["id_token"], tokens["access_token"])
    assert claims["amr"] == ["pwd", "otp"]
    assert same_rp.userinfo(tokens["access_token"]).status_code == 200
    Parent(browser, mailbox, username="Tweede.ouder").activate()

    # And the old KEK alone opens nothing any more.
    keys.forget_cache()
    with app.app_context(), pytest.raises(InvalidTag):
        keys.signing_key("RS256")
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "kek.rotate")).all()
    assert [(e.actor, e.target, e.detail["reencrypted"]["account"]) for e in events] == [
        ("beheerder", crypto.kek_id(raw(new_kek)), 1)]


def test_kek_rotation_changes_nothing_when_a_secret_cannot_be_read(app, app_with, make_org,
                                                                  invite):
    make_org()
    invite()
    stranger = SecretBox(os.urandom(32)).encrypt(b"JBSWY3DPEHPK3PXP", totp.PURPOSE)
    with app.app_context():
        activation_id = db.session.scalar(select(Activation.id))
        db.session.execute(update(Activation).values(totp_secret_encrypted=stranger))
        db.session.commit()
    before = encrypted_secrets(app)

    rotating = app_with(IDP_KEY_ENCRYPTION_KEY=crypto.new_kek(),
                        IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY=KEK)
    result = run(rotating, "rotate-kek")
    assert result.exit_code == 1
    assert f"activation row {activation_id} cannot be decrypted" in result.output
    assert "Nothing was changed." in result.output
    assert isinstance(result.exception, SystemExit)
    assert encrypted_secrets(app) == before  # the signing keys before it were rolled back too
    with app.app_context():
        audited = select(AuditEvent.id).where(AuditEvent.action == "kek.rotate")
        assert db.session.scalar(audited) is None


@pytest.mark.parametrize("command", [
    ["rotate", "--alg", "RS256"], ["ensure"], ["import", "{pem}"], ["revoke", "{kid}", "--yes"],
], ids=["rotate", "ensure", "import", "revoke"])
def test_key_commands_refuse_to_run_under_a_foreign_kek(app, app_with, tmp_path, command):
    """E.g. a cron job without IDP_KEY_ENCRYPTION_KEY: it would store keys nobody can open."""
    with app.app_context():
        before = dict(db.session.execute(select(SigningKey.kid, SigningKey.state)).all())
        kid = db.session.scalar(select(SigningKey.kid).where(SigningKey.state == "next"))
        db.session.execute(update(SigningKey).where(SigningKey.kid == kid)  # ensure has work
                           .values(state="retired", retired_at=0))
        db.session.commit()
    pem = tmp_path / "key.pem"
    pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    foreign = app_with(IDP_KEY_ENCRYPTION_KEY=crypto.new_kek())
    result = run(foreign, *[part.format(pem=pem, kid=kid) for part in command])
    assert result.exit_code == 1, result.output
    assert "this is not the service's IDP_KEY_ENCRYPTION_KEY. Nothing was changed." in result.output
    with app.app_context():
        after = dict(db.session.execute(select(SigningKey.kid, SigningKey.state)).all())
    assert after == {**before, kid: "retired"}


def test_kek_rotation_without_the_old_key_says_what_is_missing(app, app_with):
    result = run(app_with(IDP_KEY_ENCRYPTION_KEY=crypto.new_kek()), "rotate-kek")
    assert result.exit_code == 1
    assert "IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY; add the old key there" in result.output
