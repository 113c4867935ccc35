"""Console pages for a beheerder: the organisation's staff, inviting one with a role, and
disabling or enabling one (never oneself)."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp.accounts import actions
from idp.console import access, staff as staff_queries
from idp.web.console.blueprint import NAV, bp
from idp.web.console.forms import StaffInviteForm
from idp.web.console.parents import Action, invite_page, invite_with, perform

NAV.append(("console.staff_list", _l("Medewerkers"), "staff.manage"))

ROLE_LABELS = {
    "medewerker": _l("Medewerker: ziet ouders, nodigt uit"),
    "helpdesk": _l("Helpdesk: ook ontgrendelen, app resetten, uitschakelen"),
    "beheerder": _l("Beheerder: ook medewerkers beheren, ouders verwijderen, auditlog"),
}


@bp.get("/medewerkers")
@access.require("staff.manage")
def staff_list():
    members = staff_queries.members(access.current_staff().organisation)
    return render_template("console/staff.html", members=members)


@bp.route("/medewerkers/uitnodigen", methods=["GET", "POST"])
@access.require("staff.manage")
def invite_staff():
    form = StaffInviteForm()
    form.role.choices = [("", _("Kies een rol"))] + [
        (role, ROLE_LABELS[role]) for role in staff_queries.ASSIGNABLE_ROLES]
    return invite_with(form, role=form.role.data) or invite_page(form)


STAFF_ACTIONS = [
    Action("uitschakelen", "staff.manage", actions.disable,
           lambda _r: _("De medewerker is uitgeschakeld en overal uitgelogd.")),
    Action("inschakelen", "staff.manage", actions.enable,
           lambda _r: _("De medewerker is weer ingeschakeld.")),
]


def _staff_action_view(action: Action):
    def view(subject):
        member = access.target()  # in the beheerder's organisation (access.require)
        if not member.is_staff:
            abort(404)
        if member.id == access.current_staff().id:
            flash(_("U kunt uzelf niet uitschakelen."), "error")
            return redirect(url_for("console.staff_list"))
        return perform(action, member, url_for("console.staff_list"))

    view.__name__ = "staff_" + action.slug
    return access.require(action.permission, step_up=action.step_up)(view)


for _action in STAFF_ACTIONS:
    bp.add_url_rule(f"/medewerkers/<subject>/{_action.slug}",
                    view_func=_staff_action_view(_action), methods=["POST"])
