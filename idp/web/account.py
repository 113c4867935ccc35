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
    account = db.session.get(Account, signin.account_id)
    if account is not None and account.is_staff:
        return redirect(url_for("console.home"))  # staff sign in to work in the console
    return render_template("account/home.html", account=account)
