"""The pages of the links e-mailed to an account holder, and linking an app at sign-in.

    /herstellen/<token>    a new password, twice (and the app's code where two-factor is used)
    /nieuwe-app/<token>    the password, then a new app: QR code or key, and its first code
    /inloggen/app-koppelen after the password at sign-in, where the organisation started asking
                           for a code and no app is linked yet

As on the activation page, the link's token is moved out of the address bar at once (into the
server-side session), so it does not linger in browser history or leak through a Referer.
"""

import base64
import functools

from flask import (Blueprint, current_app, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp import clock, crypto
from idp.accounts import links, notices, recovery
from idp.auth import password_policy, totp
from idp.extensions import db
from idp.models import Account
from idp.models.account_link import NEW_AUTHENTICATOR, PASSWORD_RESET
from idp.web.activation import CODE_WRONG
from idp.web.errors import error_page, throttled_page
from idp.web.forms import ActivationForm, CodeForm, CurrentPasswordForm

bp = Blueprint("links", __name__)
LINK_KEY, VERIFIED_KEY, ENROL_KEY = "account_link", "account_link_verified", "enrolment"
MAX_TOKEN = 100

PROBLEMS = {
    links.UNKNOWN: _l("Deze link is niet geldig. Controleer of u de hele link uit de e-mail "
                      "heeft gebruikt, of vraag de helpdesk om een nieuwe link."),
    links.USED: _l("Deze link is al gebruikt: een link werkt maar één keer. Lukt het inloggen "
                   "niet, vraag dan de helpdesk om een nieuwe link."),
    links.EXPIRED: _l("Deze link is verlopen of vervangen door een nieuwere link. Gebruik de "
                      "link uit de nieuwste e-mail, of vraag de helpdesk om een nieuwe link."),
}
PASSWORD_WRONG = _l("Dit wachtwoord klopt niet. Let op hoofdletters en kleine letters.")
ENROL_EXPIRED = _l("Het koppelen van de app duurde te lang. Log opnieuw in.")
#: Two windows linked an app at sign-in at the same moment: only the first one counts.
ALREADY_LINKED = _l("In een ander venster is net al een app aan uw account gekoppeld. Deze app "
                    "is dus niet gekoppeld. Log in met de code uit de app die u in dat andere "
                    "venster heeft gekoppeld. Heeft u die app niet, neem dan contact op met "
                    "%(helpdesk)s.")
TITLES = {PASSWORD_RESET: _l("Nieuw wachtwoord instellen"),
          NEW_AUTHENTICATOR: _l("Nieuwe app koppelen")}


def _open(token: str, purpose: str, endpoint: str):
    if len(token) > MAX_TOKEN:
        return _problem(purpose, links.UNKNOWN)
    session[LINK_KEY] = {"hash": crypto.token_hash(token), "purpose": purpose}
    session.pop(VERIFIED_KEY, None)
    return redirect(url_for(endpoint))


def _held_link(purpose: str):
    """For a view of the link held in the session (``_open``): the view gets the link and its
    account while the link is usable, else the page says why it is not."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper():
            held = session.get(LINK_KEY) or {}
            if held.get("purpose") != purpose or not held.get("hash"):
                return _problem(purpose, links.UNKNOWN)
            lookup = links.find(held["hash"], purpose, hashed=True)
            if lookup.link is None:
                return _problem(purpose, lookup.problem)
            return view(lookup.link, lookup.link.account)
        return wrapper
    return decorate


def _problem(purpose: str, problem: str):
    session.pop(LINK_KEY, None)
    session.pop(VERIFIED_KEY, None)
    status = 410 if problem in (links.USED, links.EXPIRED) else 404
    return render_template("links/problem.html", title=TITLES[purpose],
                           message=PROBLEMS[problem]), status


def _throttled():
    db.session.rollback()
    return throttled_page()


def _used_meanwhile(link) -> bool:
    db.session.refresh(link)
    return link.used_at is not None


def _done(notice: str):
    session.pop(LINK_KEY, None)
    session.pop(VERIFIED_KEY, None)
    return redirect(url_for("login.login", **{notice: 1}))


# --- a new password ---------------------------------------------------------------------------
@bp.get("/herstellen/<token>")
def open_reset(token):
    return _open(token, PASSWORD_RESET, "links.reset")


@bp.route("/herstellen", methods=["GET", "POST"])
@_held_link(PASSWORD_RESET)
def reset(link, account):
    with_code = recovery.needs_code(account)
    form = ActivationForm()
    if not with_code:
        del form.code
    if form.validate_on_submit():
        problem = password_policy.problem(form.password.data, account)
        if problem:
            form.password.errors.append(problem)
        elif with_code and recovery.throttled(account, request.remote_addr):
            return _throttled()
        elif with_code and not recovery.check_code(account, form.code.data, request.remote_addr):
            db.session.rollback()
            if _used_meanwhile(link):  # another tab used the link (and this code) just now
                return _problem(PASSWORD_RESET, links.USED)
            form.code.errors.append(CODE_WRONG)
        elif recovery.reset_password(link, form.password.data, request.remote_addr):
            return _done("hersteld")
        else:
            return _problem(PASSWORD_RESET, links.USED)
    if with_code:
        form.code.data = ""  # a code is good once
    return render_template("links/reset.html", form=form, account=account,
                           with_code=with_code), (400 if form.is_submitted() else 200)


# --- a new app --------------------------------------------------------------------------------
@bp.get("/nieuwe-app/<token>")
def open_new_app(token):
    return _open(token, NEW_AUTHENTICATOR, "links.new_app")


@bp.route("/nieuwe-app", methods=["GET", "POST"])
@_held_link(NEW_AUTHENTICATOR)
def new_app(link, account):
    if session.get(VERIFIED_KEY) != link.id:
        form = CurrentPasswordForm()
        if form.validate_on_submit():
            if recovery.throttled(account, request.remote_addr):
                return _throttled()
            if recovery.check_password(account, form.password.data, request.remote_addr):
                session[VERIFIED_KEY] = link.id
                return redirect(url_for("links.new_app"))
            form.password.errors.append(PASSWORD_WRONG)
        return render_template("links/verify.html", form=form, account=account), (
            400 if form.is_submitted() else 200)
    secret = links.pending_secret(link)
    form = CodeForm()
    if form.validate_on_submit():
        step = totp.matching_step(secret, form.code.data)
        if step is None:
            form.code.errors.append(CODE_WRONG)
        elif recovery.link_authenticator(link, step, request.remote_addr):
            return _done("gekoppeld")
        else:
            return _problem(NEW_AUTHENTICATOR, links.USED)
    return render_template("links/enrol.html", form=form, account=account,
                           title=TITLES[NEW_AUTHENTICATOR], action=url_for("links.new_app"),
                           **totp.enrolment(secret, account)), (400 if form.is_submitted() else 200)


# --- linking an app at sign-in ------------------------------------------------------------------
def start_enrolment(account: Account, flow_id: str | None):
    """The password was right, and the organisation asks for a code this account has no app
    for: show a new app's QR code (this browser only, for a while), then sign in with it."""
    secret = totp.encrypt_secret(totp.new_secret())
    session[ENROL_KEY] = {
        "account_id": account.id,
        "secret": base64.b64encode(secret).decode(),
        "flow": flow_id,
        "until": clock.timestamp() + current_app.config["IDP_LOGIN_FLOW_TTL"],
    }
    return redirect(url_for("links.enrol"))


@bp.route("/inloggen/app-koppelen", methods=["GET", "POST"])
def enrol():
    state = session.get(ENROL_KEY)
    account = db.session.get(Account, state["account_id"]) if state else None
    if account is None or state["until"] <= clock.timestamp():
        session.pop(ENROL_KEY, None)
        return error_page(400, ENROL_EXPIRED)
    encrypted = base64.b64decode(state["secret"])
    secret = totp.decrypt_secret(encrypted)
    form = CodeForm()
    if form.validate_on_submit():
        step = totp.matching_step(secret, form.code.data)
        if step is None:
            form.code.errors.append(CODE_WRONG)
        else:
            session.pop(ENROL_KEY, None)
            flow = {"flow": state["flow"]} if state["flow"] else {}
            if recovery.enrol_at_sign_in(account, encrypted, step, request.remote_addr):
                return redirect(url_for("login.login", gekoppeld=1, **flow))
            db.session.refresh(account)
            if account.totp_secret_encrypted is None:  # disabled or reset meanwhile
                return error_page(400, ENROL_EXPIRED)
            # Another window (or browser) linked its app first: this one's is not linked.
            return render_template(
                "links/problem.html", title=_("App koppelen"),
                login_url=url_for("login.login", **flow),
                message=str(ALREADY_LINKED) % {"helpdesk": notices.helpdesk_contact(account)}), 409
    return render_template("links/enrol.html", form=form, account=account,
                           title=_("App koppelen"), action=url_for("links.enrol"),
                           at_sign_in=True, **totp.enrolment(secret, account)), (
        400 if form.is_submitted() else 200)
