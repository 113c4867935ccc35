"""Console pages for parents: the list with search and filter, one parent's page with its
actions (small POST forms; idp.accounts does the work), and inviting a parent."""

from dataclasses import dataclass
from typing import Callable

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from idp import mail
from idp.accounts import actions, links
from idp.console import access, parents
from idp.extensions import db
from idp.web.console.blueprint import NAV, bp
from idp.web.console.forms import InviteForm

NAV.append(("console.parents_list", _l("Ouders"), "parents.view"))

STATUS_LABELS = {
    parents.INVITED_STATUS: _l("Uitgenodigd"),
    parents.LINK_EXPIRED: _l("Link verlopen"),
    parents.ACTIVE_STATUS: _l("Actief"),
    parents.LOCKED: _l("Geblokkeerd"),
    parents.DISABLED_STATUS: _l("Uitgeschakeld"),
}
INVITATION_OUTCOMES = {
    "activated": _l("Geactiveerd"),
    "pending": _l("Nog niet gebruikt"),
    "expired": _l("Verlopen"),
    "replaced": _l("Vervangen door een nieuwe uitnodiging"),
}
#: The audit log's actions as the parent's history shows them.
ACTIONS_DONE = {
    "account.invite": _l("Uitgenodigd"),
    "account.resend": _l("Nieuwe uitnodiging gestuurd"),
    "account.unlock": _l("Ontgrendeld"),
    "account.disable": _l("Uitgeschakeld"),
    "account.enable": _l("Ingeschakeld"),
    "account.end_sessions": _l("Overal uitgelogd"),
    "account.reset_authenticator": _l("App gereset"),
    "account.approve_reset": _l("Reset van de app goedgekeurd"),
    "account.password_reset_sent": _l("Link voor nieuw wachtwoord gestuurd"),
    "account.password_reset": _l("Nieuw wachtwoord gekozen"),
    "account.update": _l("Gegevens gewijzigd"),
}
CONFIRM_FIRST = _l("Vink eerst aan dat u het zeker weet. Er is niets veranderd.")
REASON_FIRST = _l("Vul eerst een reden in (ticketnummer of korte notitie). Er is niets veranderd.")
MAIL_FAILED = _l("Het is gedaan, maar de e-mail aan de ouder kon niet worden verstuurd. "
                 "Probeer het later opnieuw of neem contact op met de beheerder.")


def _parent():
    """The parent the page names (``access.require`` found the account in the staff member's
    organisation); a staff account is no parent here: 404, as if absent."""
    account = access.target()
    if account.is_staff:
        abort(404)
    return account


@bp.get("/ouders")
@access.require("parents.view")
def parents_list():
    staff = access.current_staff()
    query, status, after = (request.args.get(k, "")[:150] for k in ("q", "status", "na"))
    page = parents.search(staff.organisation, query, status, after,
                          current_app.config["IDP_CONSOLE_PAGE_SIZE"])
    return render_template("console/parents.html", page=page, query=query, status=status,
                           statuses=STATUS_LABELS)


@bp.get("/ouders/<subject>")
@access.require("parents.view")
def parent(subject):
    return render_template("console/parent.html", detail=parents.detail(_parent()),
                           statuses=STATUS_LABELS, outcomes=INVITATION_OUTCOMES,
                           actions_done=ACTIONS_DONE)


@bp.route("/ouders/uitnodigen", methods=["GET", "POST"])
@access.require("parents.invite")
def invite_parent():
    form = InviteForm()
    return invite_with(form, role=None) or invite_page(form)


def invite_page(form):
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("console/invite.html", form=form), status


def invite_with(form, role):
    """Shared by the parents' and the staff's invite page: suggest a username first, then
    invite; a duplicate or bad address is shown next to its field. None: show the form."""
    staff = access.current_staff()
    if not form.validate_on_submit():
        return None
    if not (form.username.data or "").strip():
        form.username.data = actions.suggest_username(staff.organisation, form.name.data)
        flash(_("Controleer de voorgestelde gebruikersnaam en druk dan op Uitnodigen."), "ok")
        return None
    try:
        account = actions.invite(staff.organisation, form.email.data, form.username.data.strip(),
                                 form.name.data.strip(), access.actor(), role=role)
    except actions.Refused as refused:
        db.session.rollback()
        field = form.email if "email" in refused.code else form.username
        field.errors = [*field.errors, str(refused)]
        return None
    except mail.MailError:
        flash(str(MAIL_FAILED), "error")
        return None
    flash(_("De uitnodiging is verstuurd naar %(email)s.", email=account.email), "ok")
    return redirect(url_for("console.staff_list") if role else
                    url_for("console.parent", subject=account.subject))


# --- actions -----------------------------------------------------------------------------------
@dataclass
class Action:
    slug: str
    permission: str
    run: Callable
    done: Callable  # (result) -> the flash message
    step_up: bool = False
    #: The endpoint to go to once done, when not back to the page (an erased parent has none).
    then: str | None = None


def _reset_done(link):
    if link.approved_at is None:
        return _("De reset wacht op goedkeuring door een tweede medewerker. Daarna krijgt de "
                 "ouder een e-mail om een nieuwe app te koppelen.")
    return _("De oude app werkt niet meer. De ouder krijgt een e-mail om een nieuwe app te "
             "koppelen; het wachtwoord blijft hetzelfde.")


def _approve(account, actor):
    link = links.pending_approval(account)
    if link is None:
        raise actions.Refused(_("Er wacht geen reset op goedkeuring."), "nothing_pending")
    actions.approve_reset(link, actor)


ACTIONS = [
    Action("opnieuw-uitnodigen", "parents.resend", actions.resend_invitation,
           lambda _r: _("Er is een nieuwe uitnodiging verstuurd. De oude link werkt niet meer.")),
    Action("ontgrendelen", "parents.unlock", actions.unlock,
           lambda _r: _("Het account is ontgrendeld. De ouder kan weer inloggen.")),
    Action("authenticator-resetten", "parents.reset_authenticator", actions.reset_authenticator,
           _reset_done, step_up=True),
    Action("reset-goedkeuren", "parents.approve_reset", _approve,
           lambda _r: _("Goedgekeurd. De ouder krijgt een e-mail om een nieuwe app te koppelen.")),
    Action("wachtwoord-herstellen", "parents.reset_password", actions.send_password_reset,
           lambda _r: _("De ouder krijgt een e-mail met een link om een nieuw wachtwoord te kiezen.")),
    Action("uitschakelen", "parents.disable", actions.disable,
           lambda _r: _("Het account is uitgeschakeld. De ouder is overal uitgelogd.")),
    Action("inschakelen", "parents.disable", actions.enable,
           lambda _r: _("Het account is weer ingeschakeld.")),
    Action("sessies-beeindigen", "parents.end_sessions", actions.end_sessions,
           lambda n: ngettext("%(num)d sessie is beëindigd.", "%(num)d sessies zijn beëindigd.", n)),
    Action("verwijderen", "parents.delete", actions.erase,
           lambda _r: _("Het account en de persoonsgegevens zijn verwijderd."), step_up=True,
           then="console.parents_list"),
]


def perform(action: Action, account, back: str):
    """Check the confirmation, run the action (it refuses one that needs a reason without it),
    flash the result, go back."""
    if request.form.get("confirm") != "yes":
        flash(str(CONFIRM_FIRST), "error")
    else:
        try:
            result = action.run(account, access.actor())
        except actions.Refused as refused:
            db.session.rollback()
            # Which actions need a reason is idp.accounts.actions' to say (it checks first).
            flash(str(REASON_FIRST) if refused.code == "reason_required" else str(refused),
                  "error")
        except mail.MailError:
            flash(str(MAIL_FAILED), "error")
        else:
            flash(action.done(result), "ok")
            if action.then:
                return redirect(url_for(action.then))
    return redirect(back)


def _action_view(action: Action):
    def view(subject):
        return perform(action, _parent(), url_for("console.parent", subject=subject))

    view.__name__ = "parent_" + action.slug.replace("-", "_")
    return access.require(action.permission, step_up=action.step_up)(view)


for _action in ACTIONS:
    bp.add_url_rule(f"/ouders/<subject>/{_action.slug}", view_func=_action_view(_action),
                    methods=["POST"])
