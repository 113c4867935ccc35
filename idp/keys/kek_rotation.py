"""Rotating the key-encryption key (KEK): re-encrypt every secret at rest under the current
``IDP_KEY_ENCRYPTION_KEY``, reading the old ones with ``IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY``.

One transaction with the rows locked: either every secret is under the new KEK afterwards, or
(a secret no configured key can open, a crash) nothing changed. Secrets already under the new
KEK are left as they are, so running it again is safe and reports nothing to do.
"""

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import select, update

from idp import audit, keys
from idp.auth import totp
from idp.extensions import db, secret_box
from idp.models import Account, AccountLink, Activation, SigningKey

#: Every column holding a secret encrypted with idp.crypto, with its purpose (associated data).
#: A new encrypted column must be listed here (tests/test_kek_rotation.py checks).
ENCRYPTED_COLUMNS = (
    (SigningKey, SigningKey.private_key_encrypted, keys.PURPOSE),
    (Account, Account.totp_secret_encrypted, totp.PURPOSE),
    (Activation, Activation.totp_secret_encrypted, totp.PURPOSE),
    (AccountLink, AccountLink.totp_secret_encrypted, totp.PURPOSE),
)


class Undecryptable(Exception):
    """A stored secret opens under no configured KEK; nothing was changed."""


@dataclass(frozen=True)
class Result:
    reencrypted: dict[str, int]  # table -> secrets moved to the current KEK
    already_current: int
    kek_id: str


def rotate_kek(actor: str) -> Result:
    box = secret_box()
    moved: dict[str, int] = {}
    current = 0
    for model, column, purpose in ENCRYPTED_COLUMNS:
        table = model.__tablename__
        rows = db.session.execute(
            select(model.id, column).where(column.is_not(None)).order_by(model.id)
            .with_for_update()
        ).all()
        moved[table] = 0
        for row_id, blob in rows:
            blob = bytes(blob)
            if box.is_current(blob, purpose):
                current += 1
                continue
            try:
                plaintext = box.decrypt(blob, purpose)
            except (InvalidTag, ValueError):
                db.session.rollback()
                raise Undecryptable(
                    f"{table} row {row_id} cannot be decrypted with IDP_KEY_ENCRYPTION_KEY nor "
                    "any key in IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY; add the old key there. "
                    "Nothing was changed."
                ) from None
            db.session.execute(
                update(model).where(model.id == row_id)
                .values({column.key: box.encrypt(plaintext, purpose)})
                .execution_options(synchronize_session=False)
            )
            moved[table] += 1
    result = Result(moved, current, box.kek_id)
    if any(moved.values()):
        audit.record(actor, "kek.rotate", result.kek_id, reencrypted=moved,
                     already_current=current)
    db.session.commit()
    return result
