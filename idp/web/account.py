"""The account page (``/account``, also ``/``): who is signed in, change the password, move the
authenticator app to a new phone, the active sign-ins with "Overal uitloggen", the language.

Signed-in parents only (the 10-minute idle rule of idp.sessions applies); every form carries a
CSRF token, checked by its FlaskForm (the blueprint is exempt from the global check so a
failure shows next to the form). The work is in idp.flows.password_change and
idp.flows.authenticator_move.
"""

import functools
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp import audit, sessions
from idp.accounts import links, recovery
from idp.auth import totp
from idp.extensions import db
from idp.flows import authenticator_move, password_change
from idp.models import Account, Client
from idp.web.activation import CODE_WRONG
from idp.web.forms import CodeForm, ConfirmForm, PasswordChangeForm

bp = Blueprint("account", __name__)

MOVE_KEY = "authenticator_move"
WRONG_CURRENT = _l(
    "Het huidige wachtwoord of de code klopt niet. Let op hoofdletters en kleine letters, en "
    "gebruik de code die de app nu laat zien."
)
OLD_CODE_WRONG = _l(
    "Deze code klopt niet. Vul de code in die de app op uw oude telefoon nu laat zien. Heeft u "
    "die code net al gebruikt? Wacht dan op de volgende code."
)
MOVE_OVER = _l(
    "Het verplaatsen duurde te lang of is ergens anders al gedaan. Begin opnieuw."
)
NOTICES = {
    "wachtwoord": _l("Uw wachtwoord is gewijzigd. Op uw andere apparaten bent u uitgelogd."),
    "app": _l("Uw nieuwe telefoon is gekoppeld. Gebruik vanaf nu de code uit de app op uw "
              "nieuwe telefoon. De codes van uw oude telefoon werken niet meer."),
}


def signed_in(view):
    """Only for a signed-in parent: else to the sign-in page. The view gets the sign-in session
    and the account."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        signin = sessions.current()
        account = db.session.get(Account, signin.account_id) if signin else None
        if account is None or not account.is_active:
            if signin is not None:
                sessions.end_current()
            return redirect(url_for("login.login"))
        return view(signin, account, *args, **kwargs)

    return wrapper


def _amsterdam():
    try:
        return ZoneInfo("Europe/Amsterdam")
    except ZoneInfoNotFoundError:  # no time zone data in this image: say it in UTC
        return timezone.utc


def when(timestamp: float) -> str:
    """A moment as parents read it: "1 december 2026, 09:12" (Dutch time)."""
    moment = datetime.fromtimestamp(timestamp, _amsterdam())
    return format_datetime(moment, "d MMMM y, HH:mm", tzinfo=moment.tzinfo, locale=get_locale())


def _sign_ins(signin) -> list[dict]:
    listed = sorted(sessions.live_for(signin.account_id), key=lambda each: each.last_seen,
                    reverse=True)
    client_ids = {client_id for each in listed for client_id in each.clients}
    names = dict(db.session.execute(select(Client.client_id, Client.name)
                                    .where(Client.client_id.in_(client_ids))).all()) if client_ids else {}
    return [{"started": when(each.auth_time), "last_used": when(each.last_seen),
             "this_device": each.sid == signin.sid,
             "websites": sorted(names.get(client_id, client_id) for client_id in each.clients)}
            for each in listed]


@bp.get("/")
@bp.get("/account")
@signed_in
def home(signin, account):
    if account.is_staff and request.path == "/":
        return redirect(url_for("console.home"))  # staff sign in to work in the console
    return render_template(
        "account/home.html", account=account, sign_ins=_sign_ins(signin), form=ConfirmForm(),
        can_move=authenticator_move.can_move(account),
        notice=NOTICES.get(request.args.get("gedaan", "")),
    )


@bp.route("/account/wachtwoord", methods=["GET", "POST"])
@signed_in
def change_password(signin, account):
    form = PasswordChangeForm()
    needs_code = recovery.needs_code(account)
    if not needs_code:
        del form.code
    error = None
    if form.validate_on_submit():
        problem = password_change.change(
            account, form.current_password.data, form.code.data if needs_code else "",
            form.password.data, signin.sid, request.remote_addr or "")
        if problem is None:
            return redirect(url_for("account.home", gedaan="wachtwoord"))
        if problem == password_change.WRONG_CURRENT:
            error = WRONG_CURRENT
        else:
            form.password.errors.append(problem)
        if needs_code:
            form.code.data = ""  # a used or wrong code is no help on the next try
    return render_template("account/password.html", form=form, account=account, error=error), (
        400 if request.method == "POST" else 200)


@bp.post("/account/overal-uitloggen")
@signed_in
def sign_out_everywhere(signin, account):
    """"Overal uitloggen": every session of the account ends, this one too; relying parties
    hear it by back-channel logout."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "account/home.html", account=account, sign_ins=_sign_ins(signin), form=form,
            can_move=authenticator_move.can_move(account), notice=None), 400
    audit.for_account(links.SELF, "account.end_sessions", account, ip=request.remote_addr)
    db.session.commit()
    sessions.end_current()
    sessions.end_all_for(account.id, sessions.LOGOUT)
    return render_template("login/logged_out.html", everywhere=True)


@bp.route("/account/app-verplaatsen", methods=["GET", "POST"])
@signed_in
def move_authenticator(signin, account):
    """"Authenticator verplaatsen": the old phone's code, then the new phone's QR code and code."""
    if not authenticator_move.can_move(account):
        return redirect(url_for("account.home"))
    form = CodeForm()
    flow = session.get(MOVE_KEY)
    secret = authenticator_move.pending_secret(flow, account, signin.sid)
    if request.method == "GET" and request.args.get("opnieuw"):
        session.pop(MOVE_KEY, None)
        secret = None
    error = None
    if secret is None:  # step 1: the code from the old phone
        if flow:
            session.pop(MOVE_KEY, None)
            if request.method == "POST":
                error = MOVE_OVER
        elif form.validate_on_submit():
            started = authenticator_move.start(account, form.code.data, signin.sid,
                                             request.remote_addr)
            if started:
                session[MOVE_KEY] = started
                return redirect(url_for("account.move_authenticator"))
            form.code.errors.append(OLD_CODE_WRONG)
            form.code.data = ""
        return render_template("account/move_old.html", form=form, error=error), (
            400 if request.method == "POST" else 200)
    if form.validate_on_submit():  # step 2: the code from the new phone
        saved = authenticator_move.finish(account, flow, form.code.data, request.remote_addr)
        if saved:
            session.pop(MOVE_KEY, None)
            return redirect(url_for("account.home", gedaan="app"))
        if saved is None:
            session.pop(MOVE_KEY, None)
            return render_template("account/move_old.html", form=CodeForm(formdata=None),
                                   error=MOVE_OVER), 409
        form.code.errors.append(CODE_WRONG)
        form.code.data = ""
    return render_template("account/move_new.html", form=form, account=account,
                           **totp.enrolment(secret, account)), (400 if request.method == "POST" else 200)

