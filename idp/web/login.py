"""The sign-in page (from a relying party's authorization request, or directly) and logout."""

from typing import NamedTuple

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from idp import clock, i18n, sessions, statements
from idp.extensions import csrf, db
from idp.flows import login as login_flow
from idp.models import Account, Organisation
from idp.web import authorization, end_session, links
from idp.web.errors import throttled_page
from idp.statements import Statement
from idp.web.forms import CodeForm, ConfirmForm, LoginForm

bp = Blueprint("login", __name__)

WRONG = _l(
    "Deze combinatie van gebruikersnaam, wachtwoord en code klopt niet. Let op hoofdletters "
    "en kleine letters, en gebruik de code die de app nu laat zien."
)
FLOW_EXPIRED = _l(
    "Het inloggen duurde te lang. Ga terug naar de website waar u wilde inloggen en begin opnieuw."
)


#: The browser-session key of a staff sign-in waiting for its code, and how long it may wait.
CODE_STEP_KEY = "sign_in_code_step"
CODE_STEP_TTL = 300
#: The button of a parent whose organisation asks for a code they have no app for yet.
WITHOUT_CODE = "zonder_code"
#: What the page says on top after activation, a new password, or a new app.
NOTICES = {
    "geactiveerd": _l("Uw account is geactiveerd. U kunt nu inloggen."),
    "hersteld": _l("Uw nieuwe wachtwoord is opgeslagen. U kunt nu inloggen."),
    "gekoppeld": _l("Uw app is gekoppeld. Log nu in met de code die de app laat zien; wacht "
                    "eventueel op de volgende code."),
}


class OrganisationChoice(NamedTuple):
    """What the sign-in (and forgotten-password) page and its POST use of an organisation, read
    as plain rows: loading ORM objects for the list cost more than the rest of the query."""

    id: int
    code: str
    name: str
    requires_2fa: bool
    helpdesk_contact: str | None

    display_name = property(Organisation.display_name.fget)


#: On the driver (idp.statements): through the session, the query cost the page twice as much.
ORGANISATIONS = Statement(f"SELECT {', '.join(OrganisationChoice._fields)} FROM organisation "
                          "ORDER BY code")


def organisations_for(form) -> list[OrganisationChoice]:
    """Every organisation, by code; ``form.organisation`` gets them as its choices (and the
    only one chosen already when there is just one)."""
    # A page reads nothing else: one autocommit statement; a POST reads in its transaction.
    rows = (statements.read_alone(ORGANISATIONS, {}) if request.method == "GET"
            else statements.execute(ORGANISATIONS, {}))
    organisations = [OrganisationChoice(id_, code, name, bool(requires_2fa), helpdesk)
                     for id_, code, name, requires_2fa, helpdesk  # SQLite's booleans are 0 or 1
                     in rows]
    form.organisation.choices = [("", _("Kies uw organisatie"))] + [
        (org.code, org.display_name) for org in organisations
    ]
    if request.method == "GET" and len(organisations) == 1:
        form.organisation.data = organisations[0].code
    return organisations


@bp.route("/inloggen", methods=["GET", "POST"])
def login():
    flow_id = request.args.get("flow")
    flow = login_flow.load_flow(flow_id) if flow_id else None
    if flow_id and flow is None:
        return render_template("login/expired.html", message=FLOW_EXPIRED), 400
    form = LoginForm()
    organisations = organisations_for(form)
    by_code = {org.code: org for org in organisations}
    if request.method == "GET" and flow:
        form.username.data = login_flow.login_hint(flow["query"])
    chosen = by_code.get(form.organisation.data or "")
    error = None
    valid = form.validate_on_submit()
    # Every mistake at once: a missing code is named with the other empty fields.
    missing_code = (form.is_submitted() and chosen is not None and chosen.requires_2fa
                    and not form.code.data and not form.code.errors
                    and not request.form.get(WITHOUT_CODE))
    if missing_code:
        form.code.errors.append(_("Vul de code in die de app Google Authenticator laat zien."))
    if valid and not missing_code:
        if chosen is None:
            form.organisation.errors.append(_("Kies uw organisatie."))
        else:
            outcome = login_flow.authenticate(
                chosen, form.username.data, form.password.data, form.code.data or "",
                request.remote_addr or "",
            )
            if outcome.result == login_flow.THROTTLED:
                db.session.rollback()
                return throttled_page()
            if outcome.result == login_flow.NEEDS_CODE:
                db.session.commit()  # a renewed password hash
                session[CODE_STEP_KEY] = {"account_id": outcome.pending.id, "flow": flow_id,
                                          "at": clock.now()}
                return redirect(url_for("login.code_step"))
            if outcome.result == login_flow.ENROL:
                db.session.commit()
                return links.start_enrolment(outcome.account, flow_id)
            if outcome.account is not None:
                return _signed_in(outcome, flow_id, flow)
            db.session.rollback()
            form.code.data = ""  # a used or wrong code is no help on the next try
            error = WRONG
    notice = next((str(text) for arg, text in NOTICES.items() if request.args.get(arg)), None)
    return _page(form, organisations, chosen, status=400 if request.method == "POST" else 200,
                 error=error or (request.args.get("code_fout") and WRONG), notice=notice)


def page_for_flow(flow_id: str, query: str):
    """The sign-in page for an authorization request, answered at ``/authorize`` itself. Its
    form and language switch lead to the flow (``/inloggen?flow=``), which holds the request:
    from there on it is the same page as at that address."""
    form = LoginForm()
    organisations = organisations_for(form)
    form.username.data = login_flow.login_hint(query)
    chosen = next((org for org in organisations if org.code == form.organisation.data), None)
    to_flow = url_for("login.login", flow=flow_id)
    switch = i18n.switch_links(lambda code: url_for("login.login", flow=flow_id,
                                                    **{i18n.SWITCH_PARAM: code}))
    return _page(form, organisations, chosen, action=to_flow, language_switch=switch)


def _page(form, organisations, chosen, *, status=200, **context):
    return render_template(
        "login/login.html",
        form=form,
        organisations=organisations,
        show_code=bool(chosen and chosen.requires_2fa),
        **context,
    ), status


def _signed_in(outcome, flow_id, flow=None):
    """``flow``: the waiting request's flow, if this request has read it already."""
    # The flow is read, not taken, until the session is saved: should the store fail in
    # between, the parent can sign in again on the same page (tests/security/test_outages.py).
    if flow is None and flow_id:
        flow = login_flow.load_flow(flow_id)
    grant, refusal = (authorization.waiting_grant(flow["query"], outcome.account) if flow
                      else (None, None))
    # The relying party is in the session's record from its start: one write of the record.
    signin = sessions.start(outcome.account, outcome.organisation_code, outcome.amr, outcome.acr,
                            client_id=grant and grant.client.client_id)
    if flow and login_flow.finish_flow(flow_id) is None:
        grant = refusal = None  # another POST of this page completed the flow: a flow does once
    if grant is None:
        db.session.commit()
        if refusal is not None:
            return refusal
        # Nobody waiting: staff go to work in the console, parents to their page.
        return redirect(url_for("console.home" if outcome.account.is_staff else "account.home"))
    # The waiting request is answered here, with the redirect to the relying party: no trip
    # back through /authorize (this sign-in is the fresh one its prompt or max_age asked for).
    # The code's commit (idp.oauth.grants) stores the account's changes too (the code's TOTP
    # step, the sign-in time); the commit after it is for an answer that stored no code.
    answer = authorization.issue_code(signin, outcome.account, grant)
    db.session.commit()
    return answer


@bp.route("/inloggen/code", methods=["GET", "POST"])
def code_step():
    """A staff member's second step where the sign-in page asked no code (idp.flows.login)."""
    if request.method == "POST":
        csrf.protect()  # first: a forged POST is refused as such, whatever the session holds
    pending = session.get(CODE_STEP_KEY)
    if not pending or clock.now() - pending["at"] > CODE_STEP_TTL:
        session.pop(CODE_STEP_KEY, None)
        return redirect(url_for("login.login"))
    account = db.session.get(Account, pending["account_id"])
    form = CodeForm()
    if account is not None and form.validate_on_submit():
        outcome = login_flow.confirm_code(account, form.code.data, request.remote_addr or "")
        if outcome.result == login_flow.THROTTLED:
            db.session.rollback()
            return throttled_page()
        session.pop(CODE_STEP_KEY, None)
        if outcome.account is not None:
            return _signed_in(outcome, pending["flow"])
        db.session.commit()  # the failure counters' e-mail, if any
        # One try: a wrong code sends the person back to the start, like a wrong password.
        return redirect(url_for("login.login", flow=pending["flow"], code_fout=1))
    form.code.data = ""
    return render_template("login/code.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/uitloggen", methods=["GET", "POST"])
def logout():
    """Logout via the person icon; a GET only asks, so a link can't log anyone out."""
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        sessions.end_current()
        return_to = session.pop(end_session.RETURN_KEY, None)  # set by a relying party's request
        return redirect(return_to) if return_to else render_template("login/logged_out.html")
    if request.method == "POST":
        current_app.logger.info("logout without valid CSRF token refused")
        return render_template("login/logout.html", form=form, expired=True), 400
    session.pop(end_session.RETURN_KEY, None)  # the person icon: stay here after logout
    return render_template("login/logout.html", form=form)
