"""TOTP (RFC 6238) as Google Authenticator does it: SHA1, 6 digits, 30 seconds.

Verification accepts the current step and one either side, and refuses any step not newer than
the last one accepted for the account (pyotp's verify() alone allows replay). The replay guard
is a single conditional UPDATE, so two simultaneous submissions of one code cannot both win.
"""

import base64
import os

import pyotp
import segno
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from idp import clock, crypto, statements
from idp.extensions import secret_box
from idp.models import Account
from idp.statements import Statement

STEP = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation
#: Associated data of encrypted TOTP secrets (idp.crypto).
PURPOSE = "totp"


def new_secret() -> str:
    return base64.b32encode(os.urandom(SECRET_BYTES)).decode()


def key_in_groups(secret: str) -> str:
    """The key as the handbook shows it: lowercase, groups of four."""
    lower = secret.lower().rstrip("=")
    return " ".join(lower[i : i + 4] for i in range(0, len(lower), 4))


def provisioning_uri(secret: str, account_label: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(
        name=account_label, issuer_name=issuer
    )


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as a PNG QR code, made here: the secret never leaves the server."""
    return segno.make(uri, error="m").png_data_uri(scale=6, border=4)


def enrolment(secret: str, account) -> dict:
    """What the page shows to link an app, for the account as "Yvonne.testouder (PO2806)" under
    the brand: the otpauth link (the app on this phone), its QR code (the app on another phone)
    and the key in groups of four (typed or pasted by hand)."""
    label = f"{account.username} ({account.organisation.code})"
    uri = provisioning_uri(secret, label, current_app.config["IDP_BRAND"])
    return {"otpauth": uri, "qr": qr_data_uri(uri), "key": key_in_groups(secret)}


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step (current, previous or next) whose code equals ``code``, else None."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    current = int((clock.now() if at is None else at) // STEP)
    found = None
    for step in (current - 1, current, current + 1):
        if crypto.same(totp.generate_otp(step), code):
            found = step  # keep looping: same work whichever step matches
    return found


#: The replay guard, on the driver (idp.statements): built and run by the ORM on every sign-in,
#: the statement cost more than PostgreSQL spent on it (bench.profile sign_in, py-spy).
RECORD_STEP = Statement(
    "UPDATE account SET totp_last_step = :step"
    " WHERE id = :account_id AND (totp_last_step IS NULL OR totp_last_step < :step)")


def accept_for_account(account: Account, secret: str, code: str) -> bool:
    """Verify ``code`` and record its step, atomically refusing a replay. Caller commits."""
    step = matching_step(secret, code)
    if step is None:
        return False
    if statements.execute(RECORD_STEP, {"account_id": account.id, "step": step}).rowcount != 1:
        return False
    set_committed_value(account, "totp_last_step", step)  # what the row now holds
    return True


def decrypt_secret(blob: bytes) -> str:
    return secret_box().decrypt(blob, PURPOSE).decode()


def encrypt_secret(secret: str) -> bytes:
    return secret_box().encrypt(secret.encode(), PURPOSE)
