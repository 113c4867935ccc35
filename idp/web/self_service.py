"""Pages for parents who are stuck before signing in: "Wachtwoord vergeten?" and "Telefoon kwijt
of nieuw?". Thin: the work is in idp.flows.self_service; e-mails go out after the answer
(idp.web.after_response), so every answer looks and takes the same, whatever exists."""

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp import sessions
from idp.extensions import db
from idp.flows import self_service as flow
from idp.models import Account, Organisation
from idp.web.after_response import run_after
from idp.web.errors import too_many_emails
from idp.web.forms import ForgottenPasswordForm
from idp.web.login import organisations_for

bp = Blueprint("self_service", __name__)


@bp.route("/wachtwoord-vergeten", methods=["GET", "POST"])
def forgotten_password():
    form = ForgottenPasswordForm()
    organisations = organisations_for(form)
    chosen = {org.code: org for org in organisations}.get(form.organisation.data or "")
    if form.validate_on_submit():
        if chosen is None:
            form.organisation.errors.append(_l("Kies uw organisatie."))
        else:
            asked = flow.ask_password_reset(chosen.code, form.identifier.data,
                                            request.remote_addr or "")
            if asked.throttled:
                return too_many_emails()
            page = render_template("self_service/forgotten_sent.html", organisation=chosen)
            return run_after(page, asked.job)
    return render_template("self_service/forgotten.html", form=form), (
        400 if request.method == "POST" else 200)


@bp.get("/telefoon-kwijt")
def lost_phone():
    """What to do without the old phone, and whom to contact (each organisation's helpdesk)."""
    signin = sessions.current()
    if signin is not None:
        organisations = [db.session.get(Account, signin.account_id).organisation]
    else:
        organisations = db.session.scalars(select(Organisation).order_by(Organisation.code)).all()
    return render_template("self_service/lost_phone.html", organisations=organisations)
