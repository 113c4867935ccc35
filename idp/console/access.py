"""Who may do what in the console: roles as data, and ONE check (``require``) for every page.

A console page needs a sign-in session that proved password and code (amr ``otp``), still live
under the idle rule (idp.sessions), of an active staff account whose role has the page's
permission. A page that names an organisation (``<org_code>``) or an account (``<subject>``)
only shows it to staff of that organisation (servicebeheer: any). An account of another
organisation answers 404, exactly like one that does not exist, so a guessed subject tells
nothing. Destructive actions also want a code proved within IDP_CONSOLE_STEP_UP_TTL (step-up).
"""

import functools
import logging
from urllib.parse import urlencode

from flask import abort, current_app, g, redirect, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from idp import clock, sessions
from idp.accounts.actions import Actor
from idp.extensions import db, store
from idp.models import Account
from idp.models.account import BEHEERDER, HELPDESK, MEDEWERKER, SERVICEBEHEER, STAFF_ROLES

log = logging.getLogger(__name__)

ORGANISATION_STAFF = {MEDEWERKER, HELPDESK, BEHEERDER}
HELPDESK_UP = {HELPDESK, BEHEERDER}

#: permission -> the roles that have it. The one table of who may do what.
PERMISSIONS: dict[str, set[str]] = {
    "console.use": set(STAFF_ROLES),  # the start page, the step-up page
    "parents.view": ORGANISATION_STAFF,
    "parents.invite": ORGANISATION_STAFF,
    "parents.resend": ORGANISATION_STAFF,
    "parents.unlock": HELPDESK_UP,
    "parents.reset_authenticator": HELPDESK_UP,
    "parents.approve_reset": HELPDESK_UP,
    "parents.reset_password": HELPDESK_UP,
    "parents.disable": HELPDESK_UP,
    "parents.end_sessions": HELPDESK_UP,
    "parents.delete": {BEHEERDER},
    "staff.manage": {BEHEERDER},
    "audit.export": {BEHEERDER},  # own organisation's audit log
    "service.organisations": {SERVICEBEHEER},
    "service.clients": {SERVICEBEHEER},
    "service.keys": {SERVICEBEHEER},
    "service.audit": {SERVICEBEHEER},
}
MAX_REASON = 200
RATE_KEY = "console-actions:"


def allowed(account: Account, permission: str) -> bool:
    return account.role in PERMISSIONS[permission]


def _staff_session():
    """(sign-in session, staff account), or None when this browser may not use the console."""
    signin = sessions.current()
    if signin is None:
        return None
    account = db.session.get(Account, signin.account_id)
    if account is None or not account.is_staff or not account.is_active or "otp" not in signin.amr:
        return signin, None
    return signin, account


def _target_account(staff: Account, subject: str) -> Account:
    account = db.session.scalar(select(Account).where(Account.subject == subject))
    if account is None or (staff.role != SERVICEBEHEER
                           and account.organisation_id != staff.organisation_id):
        abort(404)
    return account


def require(permission: str, *, step_up: bool = False):
    """View decorator: the staff member may do ``permission`` here, or the request is refused."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)  # a typo must fail at import, not let everyone in

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            refusal = check(permission, kwargs, step_up)
            return refusal if refusal is not None else view(*args, **kwargs)

        return wrapper

    return decorate


def check(permission: str, view_args: dict, step_up: bool = False):
    """The check behind ``require``: None to go on, else the answer to give."""
    found = _staff_session()
    if found is None:
        return redirect(url_for("login.login"))
    signin, staff = found
    if staff is None or not allowed(staff, permission):
        log.info("console refused: %s for account %s", permission, signin.account_id)
        abort(403)
    g.staff = staff
    org_code = view_args.get("org_code")
    if org_code is not None and staff.role != SERVICEBEHEER and org_code != staff.organisation.code:
        abort(403)
    if "subject" in view_args:
        g.target = _target_account(staff, view_args["subject"])
    if step_up and clock.now() - (signin.code_at or 0) > current_app.config["IDP_CONSOLE_STEP_UP_TTL"]:
        return redirect(url_for("console.confirm") + "?" + urlencode({"next": _back()}))
    if request.method == "POST" and rate_limited(staff):
        raise TooManyRequests(retry_after=60 - int(clock.now() % 60))
    return None


def _back() -> str:
    """Where to return after a step-up: this page, or for a form the page it was on."""
    target = request.form.get("back", "") if request.method == "POST" else request.full_path
    return safe_next(target)


def safe_next(target: str | None) -> str:
    """Only a console path of ours: a step-up link must not send anyone elsewhere."""
    prefix = url_for("console.home")
    if target and target.startswith(prefix) and not target.startswith("//") and "\\" not in target:
        return target.rstrip("?")
    return prefix


def rate_limited(staff: Account) -> bool:
    """Count one console action; True when this staff member did too many this minute."""
    minute = int(clock.now() // 60)
    count = store().incr(f"{RATE_KEY}{staff.id}:{minute}", 120)
    return count > current_app.config["IDP_CONSOLE_ACTIONS_PER_MINUTE"]


def current_staff() -> Account:
    """The signed-in staff member (only inside a view guarded by ``require``)."""
    return g.staff


def target() -> Account:
    """The account the page's ``<subject>`` names, as ``require`` found it within the staff
    member's reach (only inside a view guarded by ``require`` whose URL has ``<subject>``)."""
    return g.target


def audit_name(staff: Account) -> str:
    """How a staff member appears in the audit log: "Anna de Vries (helpdesk, PO2806)"."""
    return f"{staff.name or staff.username} ({staff.role}, {staff.organisation.code})"


def reason() -> str | None:
    text = (request.form.get("reason") or "").strip()
    return text[:MAX_REASON] or None


def actor() -> Actor:
    return Actor(audit_name(current_staff()), ip=request.remote_addr, reason=reason())
