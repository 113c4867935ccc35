"""The activation page from the welcome e-mail: new password twice, authenticator app, code.

The link's token is moved out of the address bar at once (into the server-side session), so it
does not linger in browser history or leak through a Referer header.
"""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from idp import crypto
from idp.auth import password_policy, totp
from idp.flows import activation as flow
from idp.flows import self_service
from idp.web.after_response import run_after
from idp.web.errors import error_page, too_many_emails
from idp.web.forms import ActivationForm, ConfirmForm

bp = Blueprint("activation", __name__)
SESSION_KEY = "activation"
#: The hash of a link that no longer works, for "Stuur mij een nieuwe link".
PROBLEM_KEY = "activation_problem"

PROBLEMS = {
    flow.UNKNOWN: _l("Deze activatielink is niet geldig. Controleer of u de hele link uit de "
                     "e-mail heeft gebruikt, of vraag de PPO medewerker om een nieuwe uitnodiging."),
    flow.USED: _l("Deze activatielink is al gebruikt. Uw account is al geactiveerd: u kunt "
                  "inloggen. Lukt dat niet, vraag dan de PPO medewerker om een nieuwe uitnodiging."),
    flow.EXPIRED: _l("Deze activatielink is verlopen. Vraag de PPO medewerker of de intern "
                     "begeleider om een nieuwe uitnodiging."),
}
CODE_WRONG = _l(
    "Deze code klopt niet. Vul de code in die de app nu laat zien; de code verandert elke 30 seconden."
)


@bp.get("/activeren/<token>")
def open_link(token):
    if len(token) > 100:
        return error_page(404, PROBLEMS[flow.UNKNOWN])
    session[SESSION_KEY] = crypto.token_hash(token)
    return redirect(url_for("activation.activate"))


@bp.route("/activeren", methods=["GET", "POST"])
def activate():
    lookup = flow.find(session.get(SESSION_KEY) or "")
    if lookup.activation is None:
        token_hash = session.pop(SESSION_KEY, None)
        if token_hash:
            session[PROBLEM_KEY] = token_hash
        return _problem(lookup.problem)
    activation = lookup.activation
    if request.method == "GET":  # opened (the invitation history); a refused POST changes nothing
        flow.mark_opened(activation)
    account = activation.account
    secret = flow.pending_secret(activation)
    two_factor = account.organisation.requires_2fa or account.is_staff  # staff: always
    form = ActivationForm()
    if not two_factor:
        del form.code  # nothing to enrol: this organisation signs in without a code
    if form.validate_on_submit():
        problem = password_policy.problem(form.password.data, account)
        step = totp.matching_step(secret, form.code.data) if two_factor else None
        if problem:
            form.password.errors.append(problem)
        elif two_factor and step is None:
            form.code.errors.append(CODE_WRONG)
        elif flow.complete(activation, form.password.data, step):
            session.pop(SESSION_KEY, None)
            return redirect(url_for("login.login", geactiveerd=1))
        else:
            return _problem(flow.USED)
    return render_template(
        "activation/activate.html",
        form=form,
        account=account,
        two_factor=two_factor,
        **totp.enrolment(secret, account),
    ), (400 if form.is_submitted() else 200)


def _problem(problem: str):
    """The page for a link that does not work; where a new one could help, it offers one."""
    status = 410 if problem in (flow.USED, flow.EXPIRED) else 404
    return render_template("activation/problem.html", message=PROBLEMS[problem],
                           offer_new_link=problem != flow.USED, form=ConfirmForm()), status


@bp.post("/activeren/nieuwe-link")
def new_link():
    """"Stuur mij een nieuwe link": the same answer whether or not a link is sent."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("activation/problem.html", message=None, offer_new_link=True,
                               form=form), 400
    asked = self_service.ask_new_activation(session.get(PROBLEM_KEY) or "",
                                            request.remote_addr or "")
    if asked.throttled:
        return too_many_emails()
    return run_after(render_template("activation/new_link_sent.html"), asked.job)
