"""Service management (servicebeheer) behind the console's pages: organisations and relying
parties. Each change commits together with its audit event; a bad value raises ``Invalid``
(a Dutch sentence, the form field it belongs to) and changes nothing. Signing keys are
``idp.keys.lifecycle``'s, relying parties' URIs are checked as ``idp client add`` checks them.
"""

import re

from sqlalchemy import select

from idp import audit, clock, crypto
from idp.clients import BadRegistration, check_uri, register
from idp.extensions import db
from idp.models import Client, Organisation
from idp.oauth.server import forget_client

ORG_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
MAX_URIS = 20


class Invalid(Exception):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


# --- organisations -----------------------------------------------------------------------------
ORG_FIELDS = ("name", "requires_2fa", "helpdesk_contact", "four_eyes_reset")


def organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.code)))


def find_organisation(code: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def create_organisation(actor: str, code: str, **values) -> Organisation:
    code = code.strip()
    if not ORG_CODE.fullmatch(code):
        raise Invalid("Een code heeft 1 tot 32 letters, cijfers, - of _, bijvoorbeeld PO2806.",
                      "code")
    if find_organisation(code) is not None:
        raise Invalid(f"Er is al een organisatie met code {code}.", "code")
    org = Organisation(code=code, created_at=clock.timestamp(), **_org_values(values))
    db.session.add(org)
    db.session.flush()
    audit.record(actor, "organisation.create", code, organisation_id=org.id,
                 **{k: getattr(org, k) for k in ORG_FIELDS})
    db.session.commit()
    return org


def update_organisation(actor: str, org: Organisation, **values) -> dict:
    """The changed fields, as {field: [before, after]} (also in the audit event)."""
    changes = _apply(org, _org_values(values))
    if changes:
        audit.record(actor, "organisation.update", org.code, organisation_id=org.id,
                     changes=changes)
    db.session.commit()
    return changes


def _apply(record, values: dict) -> dict:
    """Set the values that differ; what changed, as {field: [before, after]}."""
    changes = {}
    for field, value in values.items():
        if getattr(record, field) != value:
            changes[field] = [getattr(record, field), value]
            setattr(record, field, value)
    return changes


def _org_values(values: dict) -> dict:
    name = (values.get("name") or "").strip()
    if not name or len(name) > 200:
        raise Invalid("Geef een naam van hoogstens 200 tekens.", "name")
    contact = (values.get("helpdesk_contact") or "").strip() or None
    if contact and len(contact) > 300:
        raise Invalid("De helpdesk-contactgegevens hebben hoogstens 300 tekens.", "helpdesk_contact")
    return {"name": name, "requires_2fa": bool(values.get("requires_2fa")),
            "helpdesk_contact": contact, "four_eyes_reset": bool(values.get("four_eyes_reset"))}


# --- relying parties ---------------------------------------------------------------------------
def clients() -> list[Client]:
    return list(db.session.scalars(select(Client).order_by(Client.name, Client.id)))


def find_client(client_id: str) -> Client | None:
    return db.session.scalar(select(Client).where(Client.client_id == client_id))


def uris(text: str, field: str, *, required: bool = False) -> list[str]:
    """One URI per line, checked as ``idp client add`` checks them."""
    found = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if required and not found:
        raise Invalid("Geef minstens één adres.", field)
    if len(found) > MAX_URIS:
        raise Invalid(f"Hoogstens {MAX_URIS} adressen.", field)
    checked = []
    for uri in found:
        try:
            checked.append(check_uri(uri))
        except BadRegistration:
            raise Invalid(f"{uri[:200]}: gebruik https (http alleen voor localhost), zonder "
                          "#-deel.", field) from None
    return checked


def backchannel_uri(text: str) -> str | None:
    found = uris(text, "backchannel_logout_uri")
    if len(found) > 1:
        raise Invalid("Geef één adres.", "backchannel_logout_uri")
    return found[0] if found else None


def register_client(actor: str, name: str, redirect_uris: list[str], post_logout_uris: list[str],
                    backchannel: str | None, *, public: bool, alg: str, auth_method: str,
                    offline_access: bool) -> tuple[Client, str | None]:
    """A new relying party; its secret (None for a public one) is returned once, kept hashed."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("Geef een naam van hoogstens 200 tekens.", "name")
    client, secret = register(name, redirect_uris, post_logout_uris, public, alg, auth_method,
                              backchannel, offline_access, commit=False)
    audit.record(actor, "client.register", client.client_id, name=name, public=public,
                 redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout_uris,
                 backchannel_logout_uri=backchannel, id_token_alg=alg,
                 offline_access=offline_access)
    db.session.commit()
    return client, secret


def update_client_uris(actor: str, client: Client, redirect_uris: list[str],
                       post_logout_uris: list[str], backchannel: str | None) -> dict:
    changes = _apply(client, {"redirect_uris": redirect_uris,
                              "post_logout_redirect_uris": post_logout_uris,
                              "backchannel_logout_uri": backchannel})
    if changes:
        audit.record(actor, "client.update", client.client_id, changes=changes)
    db.session.commit()
    forget_client(client.client_id)
    return changes


def rotate_secret(actor: str, client: Client) -> str:
    """A new secret at once; the old one stops working (on every worker within
    IDP_CLIENT_CACHE_TTL). Returned once, kept hashed."""
    if client.is_public:
        raise Invalid("Een publieke applicatie heeft geen secret.", "secret")
    secret = crypto.new_token(32)
    client.client_secret_hash = crypto.token_hash(secret)
    audit.record(actor, "client.rotate_secret", client.client_id)
    db.session.commit()
    forget_client(client.client_id)
    return secret


def set_disabled(actor: str, client: Client, disabled: bool) -> None:
    client.disabled_at = clock.timestamp() if disabled else None
    audit.record(actor, "client.disable" if disabled else "client.enable", client.client_id)
    db.session.commit()
    forget_client(client.client_id)
