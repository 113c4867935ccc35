"""Console pages for inviting many parents at once from a CSV file (idp.accounts.bulk_import):
upload, the dry run per row, then "Uitnodigen" to carry it out.

Between the dry run and the confirmation the file waits in the store (IMPORT_TTL, under a
random key bound to the staff member, taken out once); the confirmation carries the dry run's
fingerprint, and a file whose outcome changed meanwhile (someone invited one of its parents) is
shown again instead of carried out unseen.
"""

import json

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp import crypto
from idp.accounts import bulk_import
from idp.console import access
from idp.extensions import store
from idp.web.console.blueprint import NAV, bp

NAV.append(("console.import_parents", _l("Ouders importeren"), "parents.invite"))

IMPORT_TTL = 1800
KEY = "console-import:"
SHOWN = 500  # rows listed on the dry-run page (problems first); the counts cover them all


def _key(token: str) -> str:
    return f"{KEY}{access.current_staff().id}:{token}"


@bp.route("/ouders/importeren", methods=["GET", "POST"])
@access.require("parents.invite")
def import_parents():
    if request.method == "GET":
        return render_template("console/import.html", plan=None)
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    if not data:
        flash(_("Kies eerst een CSV-bestand."), "error")
        return render_template("console/import.html", plan=None), 400
    return _dry_run(data, request.form.get("resend_expired") == "yes")


def _dry_run(data: bytes, resend_expired: bool, status: int = 200):
    staff = access.current_staff()
    try:
        rows, notices = bulk_import.read(data)
    except bulk_import.FileProblem as problem:
        flash(str(problem), "error")
        return render_template("console/import.html", plan=None), 400
    plan = bulk_import.plan(staff.organisation, rows, resend_expired=resend_expired)
    token = crypto.new_token(16)
    store().set(_key(token), json.dumps({"data": data.decode("latin-1"),
                                         "resend_expired": resend_expired}), IMPORT_TTL)
    ordered = sorted(plan.steps, key=lambda s: (s.action != bulk_import.ERROR, s.row.line))
    return render_template("console/import.html", plan=plan, notices=notices, token=token,
                           shown=ordered[:SHOWN], counts=plan.counts(),
                           resend_expired=resend_expired), status


@bp.post("/ouders/importeren/uitvoeren")
@access.require("parents.invite")
def import_parents_run():
    token = request.form.get("token", "")[:64]
    # Taken in one step (GETDEL): of two presses, or two tabs, one carries the file out. Every
    # other way on shows the dry run again, under a new token.
    saved = store().getdel(_key(token)) if token else None
    if saved is None:
        flash(_("Dit voorbeeld is verlopen. Kies het bestand opnieuw."), "error")
        return redirect(url_for("console.import_parents"))
    saved = json.loads(saved)
    data, resend_expired = saved["data"].encode("latin-1"), saved["resend_expired"]
    staff = access.current_staff()
    if request.form.get("confirm") != "yes":
        flash(_("Vink eerst aan dat u het zeker weet. Er is niets veranderd."), "error")
        return _dry_run(data, resend_expired, 400)
    rows, _notices = bulk_import.read(data)
    now = bulk_import.plan(staff.organisation, rows, resend_expired=resend_expired)
    if now.fingerprint() != request.form.get("fingerprint"):
        flash(_("Sinds het voorbeeld is er iets veranderd. Kijk het voorbeeld opnieuw na."), "error")
        return _dry_run(data, resend_expired, 409)
    outcome = bulk_import.run(staff.organisation, data, access.actor(),
                              resend_expired=resend_expired, source="console", planned=now)
    problems = [s for s in outcome.steps if s.action == bulk_import.ERROR]
    return render_template("console/import_done.html", counts=outcome.counts(),
                           problems=problems, stopped=outcome.stopped_at)


