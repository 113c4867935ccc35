"""The console's start page and its step-up page (a fresh code before a destructive action)."""

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp import sessions
from idp.console import access
from idp.extensions import db
from idp.flows import login as login_flow
from idp.web.console.blueprint import bp
from idp.web.forms import CodeForm


@bp.get("/")
@access.require("console.use")
def home():
    """The start page: the pages this staff member's role opens (the menu, as a list)."""
    return render_template("console/home.html")


CODE_WRONG = _l("Deze code klopt niet. Vul de code in die de app nu laat zien.")


@bp.route("/bevestigen", methods=["GET", "POST"])
@access.require("console.use")
def confirm():
    """Step-up: a fresh code before a destructive action."""
    form = CodeForm()
    target = access.safe_next(request.args.get("next"))
    error = None
    if form.validate_on_submit():
        outcome = login_flow.confirm_code(access.current_staff(), form.code.data,
                                          request.remote_addr or "", step_up=True)
        db.session.commit()
        if outcome.account is not None:
            sessions.prove_code(sessions.current())
            flash(_("Bevestigd. U kunt de actie nu uitvoeren."), "ok")
            return redirect(target)
        error = CODE_WRONG
    form.code.data = ""
    return render_template("console/confirm.html", form=form, error=error), \
        400 if request.method == "POST" else 200
