"""The sign-in flow: organisation, case-sensitive username, password and (where the
organisation requires it) a TOTP code. Every failure looks the same to the person signing in;
the reason goes to the log only.

Staff (``Account.role``) always sign in with a code, also in an organisation whose parents do
not. Where the sign-in page has no code field, a staff member's right password leads to a second
step that asks for the code (``NEEDS_CODE``, then ``confirm_code``). Only someone who knows the
password ever sees that step, so it tells an attacker guessing usernames nothing.

A sign-in that starts from a relying party's authorization request is a *flow* record in the
store (id, the request, expiry), so the parent can come back to the request after signing in.
"""

import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from idp import clock, crypto, metrics, statements, throttle
from idp.accounts import links
from idp.auth import passwords, totp
from idp.flows import lockout
from idp.extensions import db, store
from idp.models import Account, Organisation
from idp.statements import Statement

log = logging.getLogger(__name__)

FLOW_KEY = "loginflow:"
AMR_2FA, AMR_PASSWORD = ["pwd", "otp"], ["pwd"]
# Authentication context classes (OIDC Core 2, acr): what the parent proved.
ACR_2FA, ACR_PASSWORD = "urn:ppo:acr:2fa", "urn:ppo:acr:pwd"


SUCCESS, BAD_CREDENTIALS, LOCKED, THROTTLED = "success", "bad_credentials", "locked", "throttled"
#: The password was right, and this staff member still has to give a code (a second step).
NEEDS_CODE = "needs_code"
#: The password is right, and the organisation asks for a code the account has no app for yet.
ENROL = "enrol"


@dataclass
class Outcome:
    account: Account | None
    amr: list[str] | None = None
    acr: str | None = None
    #: SUCCESS, BAD_CREDENTIALS, LOCKED (shown as BAD_CREDENTIALS), THROTTLED (429), ENROL
    #: (link an app first: idp.accounts.recovery), NEEDS_CODE.
    result: str = BAD_CREDENTIALS
    #: NEEDS_CODE: the staff member whose code is asked next (not signed in yet).
    pending: Account | None = None
    #: SUCCESS: the code of the account's organisation (the sign-in session names it).
    organisation_code: str | None = None


def authenticate(org: Organisation, username: str, password: str, code: str, ip: str) -> Outcome:
    """Check the credentials under the throttling rules; the caller commits."""
    outcome = _attempt(org, username, password, code, ip)
    metrics.SIGN_INS.labels(outcome.result).inc()
    return outcome


#: On the driver (idp.statements), made the session's Account as if the ORM had loaded it: the
#: ORM's load (a statement built once already) was ~15 % of the sign-in POST. Without the
#: organisation (the caller has it, and the session takes its code from the Outcome); anything
#: else that asks for it loads it then.
ACCOUNT_AS_TYPED = statements.LoadStatement(
    Account, "organisation_id = :organisation_id AND username = :username")


def _attempt(org, username, password, code, ip) -> Outcome:
    # The windows and the account's failures in one store call; decided in the same order.
    counts = throttle.sign_in_counts(ip, org.code, username)
    source = throttle.source_refusal(ip, org.code, counts)
    if source:  # before any hashing: a throttled request must stay cheap
        log.warning("sign-in throttled: too many failures from this %s", source)
        return Outcome(None, result=THROTTLED)
    account = ACCOUNT_AS_TYPED.one({"organisation_id": org.id, "username": username})
    refusal = lockout.refused(org.code, username, account, ip, password=password,
                              failures=counts.failures)
    if refusal:
        log.info("sign-in refused: account %s", refusal)
        return Outcome(None, result=LOCKED)
    outcome = _check_credentials(account, org, password, code)
    if outcome.result == NEEDS_CODE:
        _upgrade_hash(outcome.pending, password)
        return outcome
    if outcome.account is not None:
        if outcome.result == ENROL:
            throttle.record_success(org.code, username, counts)
            _upgrade_hash(outcome.account, password)
            return outcome
        return _succeeded(org, outcome, password, counts)
    lockout.failed(org.code, username, account, ip)
    return outcome


#: The sign-in time, written on the driver (idp.statements): left to the ORM, the commit's flush
#: of this one attribute was an eighth of the sign-in POST's CPU (py-spy, bench.per_request).
RECORD_SIGN_IN = Statement("UPDATE account SET last_sign_in_at = :at WHERE id = :account_id")


def _succeeded(org, outcome: Outcome, password: str | None = None,
               counts: throttle.SignInCounts | None = None) -> Outcome:
    """``counts``: what the sign-in read of the account's failures (None: clear them anyway)."""
    account = outcome.account
    throttle.record_success(org.code, account.username, counts)
    if password is not None:
        _upgrade_hash(account, password)
    now = clock.timestamp()
    statements.execute(RECORD_SIGN_IN, {"account_id": account.id, "at": now})
    set_committed_value(account, "last_sign_in_at", now)  # what the row now holds
    return Outcome(account, outcome.amr, outcome.acr, SUCCESS, organisation_code=org.code)


def confirm_code(account: Account, code: str, ip: str, *, step_up: bool = False) -> Outcome:
    """The second step of a staff member's sign-in, or a fresh code asked by the console
    (``step_up``, for someone signed in already): the code, under the same throttling rules as
    the sign-in page (a wrong code counts as a failed sign-in); the caller commits."""
    org = account.organisation
    if throttle.source_refusal(ip, org.code):
        outcome = Outcome(None, result=THROTTLED)
    elif lockout.refused(org.code, account.username, account, ip):
        outcome = Outcome(None, result=LOCKED)
    elif not account.is_active:  # disabled since the password: refused like a locked one
        throttle.record_source_failure(ip, org.code)
        outcome = Outcome(None, result=LOCKED)
    elif _code_ok(account, code):
        proved = Outcome(account, AMR_2FA, ACR_2FA, SUCCESS)
        if step_up:  # not a sign-in: the last sign-in time stays
            throttle.record_success(org.code, account.username)
        outcome = proved if step_up else _succeeded(org, proved)
    else:
        lockout.failed(org.code, account.username, account, ip)
        outcome = Outcome(None)
    metrics.SIGN_INS.labels(outcome.result).inc()
    return outcome


def _code_ok(account: Account, code: str) -> bool:
    if account.totp_secret_encrypted is None:
        # Activated while the organisation did not require a code: nothing to check against.
        log.info("sign-in refused: no authenticator linked (account %s)", account.id)
        return False
    secret = totp.decrypt_secret(account.totp_secret_encrypted)
    if not totp.accept_for_account(account, secret, code):
        log.info("sign-in refused: wrong or replayed code (account %s)", account.id)
        return False
    return True


def _upgrade_hash(account: Account, password: str) -> None:
    """Costs were raised since this hash was made: store one with today's parameters."""
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)


def _check_credentials(account, org, password, code) -> Outcome:
    password_ok = passwords.verify_password(account.password_hash if account else None, password)
    # A disabled (or not yet activated) account is refused after the same password work and
    # with the same page as a wrong password: nothing tells who exists or is disabled.
    if account is None or not password_ok or not account.is_active:
        log.info("sign-in refused: %s", "unknown user" if account is None else
                 "wrong password" if not password_ok else f"account {account.status}")
        return Outcome(None)
    if not org.requires_2fa and not account.is_staff:
        return Outcome(account, AMR_PASSWORD, ACR_PASSWORD)
    if account.totp_secret_encrypted is None:
        # Activated while the organisation did not require a code: link an app now. Not after
        # a reset by the helpdesk: that app is linked with the e-mailed link only.
        if awaits_new_authenticator_link(account):
            log.info("sign-in refused: authenticator reset pending (account %s)", account.id)
            return Outcome(None)
        log.info("sign-in needs an authenticator linked first (account %s)", account.id)
        return Outcome(account, result=ENROL)
    if not org.requires_2fa and not code.strip():
        return Outcome(None, result=NEEDS_CODE, pending=account)
    if not _code_ok(account, code):
        return Outcome(None)
    return Outcome(account, AMR_2FA, ACR_2FA)


def awaits_new_authenticator_link(account) -> bool:
    """The helpdesk reset this account's app: an e-mailed link (used or not) is the way back."""
    return bool(db.session.scalar(select(links.app_reset_waiting(account.id))))


# --- flows: an authorization request waiting for the parent to sign in ------------------------
def start_flow(query_string: str) -> str:
    flow_id = crypto.new_token(16)
    record = {"query": query_string, "created_at": clock.now()}
    store().set(FLOW_KEY + flow_id, json.dumps(record), current_app.config["IDP_LOGIN_FLOW_TTL"])
    return flow_id


def login_hint(query: str) -> str | None:
    """OIDC Core 3.1.2.1 ``login_hint`` of the request's query: the username the relying party
    expects, if any."""
    hint = parse_qs(query).get("login_hint", [""])[0].strip()
    return hint if 0 < len(hint) <= 100 else None


def load_flow(flow_id: str | None) -> dict | None:
    """The flow, or None when it is unknown or has expired ("start again")."""
    if not flow_id or len(flow_id) > 64:
        return None
    raw = store().get(FLOW_KEY + flow_id)
    if raw is None:
        return None
    record = json.loads(raw)
    if clock.now() - record["created_at"] > current_app.config["IDP_LOGIN_FLOW_TTL"]:
        return None
    return record


def finish_flow(flow_id: str) -> dict | None:
    """Take the flow out of the store: a flow completes once."""
    raw = store().getdel(FLOW_KEY + flow_id)
    return json.loads(raw) if raw else None
