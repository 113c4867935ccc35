"""Console pages for servicebeheer: organisations, relying parties and signing keys. Thin views
over idp.console.service and idp.keys.lifecycle; every change is audited there."""

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired

from idp import clock, keys
from idp.console import access, service
from idp.extensions import db
from idp.keys import lifecycle, schedule as key_schedule
from idp.models.signing_key import NEXT, SigningKey
from idp.web.console.blueprint import NAV, bp, when
from idp.web.forms import too_long

NAV.append(("console.service_organisations", _l("Organisaties"), "service.organisations"))
NAV.append(("console.service_clients", _l("Applicaties"), "service.clients"))
NAV.append(("console.service_keys", _l("Sleutels"), "service.keys"))

CONFIRM_FIRST = _l("Vink eerst aan dat u het zeker weet. Er is niets veranderd.")


def _actor() -> str:
    return access.audit_name(access.current_staff())


def _confirmed() -> bool:
    if request.form.get("confirm") == "yes":
        return True
    flash(str(CONFIRM_FIRST), "error")
    return False


def _invalid(form, invalid: service.Invalid) -> None:
    db.session.rollback()
    field = getattr(form, invalid.field, None)
    if field is None:
        flash(str(invalid), "error")
    else:
        field.errors = [*field.errors, str(invalid)]


def _page(template: str, form=None, **context):
    status = 400 if form is not None and form.is_submitted() and form.errors else 200
    return render_template(template, form=form, **context), status


# --- organisations -----------------------------------------------------------------------------
class OrganisationForm(FlaskForm):
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul de naam in.")), too_long(200)])
    requires_2fa = BooleanField(_l("Inloggen met een code (tweestapsverificatie)"))
    helpdesk_contact = StringField(
        _l("Contact van de helpdesk"), validators=[too_long(300)],
        description=_l("Staat in e-mails aan ouders: 'Was u dit niet? Neem contact op met …'"))
    four_eyes_reset = BooleanField(_l("Een tweede medewerker keurt het resetten van een app goed"))


class NewOrganisationForm(OrganisationForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Vul de code in.")), too_long(32)],
                       description=_l("Bijvoorbeeld PO2806"))


@bp.get("/service/organisaties")
@access.require("service.organisations")
def service_organisations():
    return render_template("console/service/organisations.html",
                           organisations=service.organisations())


@bp.route("/service/organisaties/nieuw", methods=["GET", "POST"])
@access.require("service.organisations")
def service_organisation_new():
    form = NewOrganisationForm(requires_2fa=True) if request.method == "GET" else NewOrganisationForm()
    if form.validate_on_submit():
        try:
            org = service.create_organisation(_actor(), form.code.data, **_org_values(form))
        except service.Invalid as invalid:
            _invalid(form, invalid)
        else:
            flash(_("Organisatie %(name)s is toegevoegd.", name=org.display_name), "ok")
            return redirect(url_for("console.service_organisations"))
    return _page("console/service/organisation.html", form, organisation=None)


@bp.route("/service/organisaties/<org_code>", methods=["GET", "POST"])
@access.require("service.organisations")
def service_organisation(org_code):
    org = service.find_organisation(org_code)
    if org is None:
        abort(404)
    form = OrganisationForm(obj=org) if request.method == "GET" else OrganisationForm()
    if form.validate_on_submit():
        try:
            changes = service.update_organisation(_actor(), org, **_org_values(form))
        except service.Invalid as invalid:
            _invalid(form, invalid)
        else:
            flash(_("Opgeslagen.") if changes else _("Er was niets veranderd."), "ok")
            return redirect(url_for("console.service_organisations"))
    return _page("console/service/organisation.html", form, organisation=org)


def _org_values(form) -> dict:
    return {field: getattr(form, field).data for field in service.ORG_FIELDS}


# --- relying parties ---------------------------------------------------------------------------
class ClientUrisForm(FlaskForm):
    redirect_uris = TextAreaField(_l("Redirect-adressen (één per regel)"),
                                  validators=[DataRequired(_l("Geef minstens één adres.")),
                                              too_long(10_000)])
    post_logout_uris = TextAreaField(_l("Adressen na uitloggen (één per regel, mag leeg)"),
                                     validators=[too_long(10_000)])
    backchannel_logout_uri = StringField(_l("Back-channel-logout-adres (mag leeg)"),
                                         validators=[too_long(500)])


class ClientForm(ClientUrisForm):
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul de naam in.")), too_long(200)])
    public = BooleanField(_l("Publiek (een app in de browser: geen secret, alleen PKCE)"))
    id_token_alg = SelectField(_l("Algoritme van het ID-token"),
                               choices=list(keys.SUPPORTED_ALGS), default="RS256")
    auth_method = SelectField(_l("Hoe de applicatie zich aanmeldt"),
                              choices=["client_secret_basic", "client_secret_post"],
                              default="client_secret_basic")
    offline_access = BooleanField(_l("Mag offline_access vragen (refresh tokens die de sessie "
                                     "overleven)"))


def _uris(form) -> tuple[list[str], list[str], str | None]:
    return (service.uris(form.redirect_uris.data, "redirect_uris", required=True),
            service.uris(form.post_logout_uris.data, "post_logout_uris"),
            service.backchannel_uri(form.backchannel_logout_uri.data))


def _secret_page(client, secret):
    """The secret, shown this once: never cached, never shown again (only its hash is kept)."""
    response = make_response(render_template("console/service/secret.html", client=client,
                                              secret=secret))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/service/applicaties")
@access.require("service.clients")
def service_clients():
    return render_template("console/service/clients.html", clients=service.clients())


@bp.route("/service/applicaties/nieuw", methods=["GET", "POST"])
@access.require("service.clients")
def service_client_new():
    form = ClientForm()
    if form.validate_on_submit():
        try:
            client, secret = service.register_client(
                _actor(), form.name.data, *_uris(form), public=form.public.data,
                alg=form.id_token_alg.data, auth_method=form.auth_method.data,
                offline_access=form.offline_access.data)
        except service.Invalid as invalid:
            _invalid(form, invalid)
        else:
            return _secret_page(client, secret)
    return _page("console/service/client_new.html", form)


def _client(client_id):
    client = service.find_client(client_id)
    if client is None:
        abort(404)
    return client


@bp.route("/service/applicaties/<client_id>", methods=["GET", "POST"])
@access.require("service.clients")
def service_client(client_id):
    client = _client(client_id)
    form = ClientUrisForm()
    if request.method == "GET":
        form.redirect_uris.data = "\n".join(client.redirect_uris)
        form.post_logout_uris.data = "\n".join(client.post_logout_redirect_uris)
        form.backchannel_logout_uri.data = client.backchannel_logout_uri or ""
    elif form.validate_on_submit():
        try:
            changes = service.update_client_uris(_actor(), client, *_uris(form))
        except service.Invalid as invalid:
            _invalid(form, invalid)
        else:
            flash(_("Opgeslagen.") if changes else _("Er was niets veranderd."), "ok")
            return redirect(url_for("console.service_client", client_id=client_id))
    return _page("console/service/client.html", form, client=client)


@bp.post("/service/applicaties/<client_id>/secret-vernieuwen")
@access.require("service.clients", step_up=True)
def service_client_rotate_secret(client_id):
    client = _client(client_id)
    if not _confirmed():
        return redirect(url_for("console.service_client", client_id=client_id))
    try:
        secret = service.rotate_secret(_actor(), client)
    except service.Invalid as invalid:
        flash(str(invalid), "error")
        return redirect(url_for("console.service_client", client_id=client_id))
    return _secret_page(client, secret)


@bp.post("/service/applicaties/<client_id>/uitschakelen")
@access.require("service.clients")
def service_client_disable(client_id):
    return _switch(client_id, True, _l("De applicatie is uitgeschakeld: zij krijgt geen codes "
                                      "en tokens meer, en haar refresh tokens werken niet meer."))


@bp.post("/service/applicaties/<client_id>/inschakelen")
@access.require("service.clients")
def service_client_enable(client_id):
    return _switch(client_id, False, _l("De applicatie is weer ingeschakeld."))


def _switch(client_id, disabled: bool, done):
    client = _client(client_id)
    if _confirmed():
        service.set_disabled(_actor(), client, disabled)
        flash(str(done), "ok")
    return redirect(url_for("console.service_client", client_id=client_id))


# --- signing keys ------------------------------------------------------------------------------
#: A key's state as the console names it (the commands and the database say next, active, ...).
KEY_STATES = {"next": _l("volgende"), "active": _l("tekent"), "retired": _l("met pensioen"),
              "revoked": _l("ingetrokken")}
#: Why a change of the keys was not made (``lifecycle.Refused.reason``).
KEY_REFUSALS = {
    lifecycle.CONCURRENT: _l("de sleutels zijn op hetzelfde moment door iemand anders (of de "
                             "nachtelijke taak) veranderd. Er is niets veranderd; probeer het "
                             "opnieuw."),
    lifecycle.UNKNOWN: _l("deze sleutel bestaat niet (meer)."),
    lifecycle.ALREADY_REVOKED: _l("deze sleutel was al ingetrokken."),
}


def _key_refusal(reason: str) -> str:
    # Rotating and revoking refuse only for these reasons; the others are the import's
    # (``idp keys import``), which the console does not offer: "nothing changed, try again".
    return str(KEY_REFUSALS.get(reason, KEY_REFUSALS[lifecycle.CONCURRENT]))


@bp.get("/service/sleutels")
@access.require("service.keys")
def service_keys():
    config = current_app.config
    rows = []
    for key in db.session.scalars(select(SigningKey).order_by(SigningKey.id.desc())):
        rows.append({"key": key, "ready_at": key_schedule.ready_at(key, config) if key.state == NEXT else None,
                     "removed_at": key_schedule.removed_at(key, config)})
    return render_template("console/service/keys.html", rows=rows, now=clock.timestamp(),
                           states=KEY_STATES,
                           lead=key_schedule.publication_lead(config),
                           retention=key_schedule.retention(config))


@bp.post("/service/sleutels/roteren")
@access.require("service.keys")
def service_keys_rotate():
    if _confirmed():
        for outcome in lifecycle.rotate(_actor()):
            flash(*_rotation_message(outcome))
    return redirect(url_for("console.service_keys"))


def _rotation_message(outcome) -> tuple[str, str]:
    if isinstance(outcome, lifecycle.Rotated):
        return _("%(alg)s: sleutel %(kid)s tekent nu; %(old)s is met pensioen.", alg=outcome.alg,
                 kid=outcome.active_kid, old=outcome.retired_kid), "ok"
    if isinstance(outcome, lifecycle.NotReady):
        return _("%(alg)s: niet geroteerd. De volgende sleutel is nog niet lang genoeg "
                 "gepubliceerd; dat kan vanaf %(at)s.", alg=outcome.alg, at=when(outcome.ready_at)), "error"
    return _("%(alg)s: niet geroteerd: %(why)s", alg=outcome.alg,
             why=_key_refusal(outcome.reason)), "error"


@bp.post("/service/sleutels/<kid>/intrekken")
@access.require("service.keys", step_up=True)
def service_key_revoke(kid):
    if lifecycle.find(kid) is None:
        abort(404)
    typed = (request.form.get("kid_confirm") or "").strip()
    if typed != kid:
        flash(_("Typ de kid van de sleutel over om het intrekken te bevestigen. Er is niets "
                "veranderd."), "error")
        return redirect(url_for("console.service_keys"))
    try:
        revoked = lifecycle.revoke(_actor(), kid)
    except lifecycle.Refused as refused:
        flash(_("Niet ingetrokken: %(why)s", why=_key_refusal(refused.reason)), "error")
    else:
        flash(_("Sleutel %(kid)s is ingetrokken. Binnen %(ttl)s seconden gebruikt geen enkele "
                "server hem meer; %(active)s tekent nu voor %(alg)s.", kid=revoked.kid,
                ttl=current_app.config["IDP_KEYS_CACHE_TTL"], active=revoked.active_kid,
                alg=revoked.alg), "ok")
    return redirect(url_for("console.service_keys"))
