"""The page a parent sees when signed in here without a relying party waiting."""

from flask import Blueprint, redirect, render_template, url_for

from idp import sessions
from idp.extensions import db
from idp.models import Account

bp = Blueprint("account", __name__)


@bp.get("/")
def home():
    signin = sessions.current()
    if signin is None:
        return redirect(url_for("login.login"))
    return render_template("account/home.html", account=db.session.get(Account, signin.account_id))
