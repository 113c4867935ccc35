"""A parent's account as a SCIM User (RFC 7643 4.1), with our extension, in scim2-models terms.

    id           the account's subject (the OIDC ``sub``: random, stable, never the username)
    userName     the username: case kept, case-sensitive, unique in the organisation
    externalId   the provisioning client's own id (the dossier's), unique in the organisation
    name         ``formatted`` (we keep one name); givenName/familyName are joined on input
    emails       the one address, ``primary``
    active       false while disabled (signed out everywhere, refused at sign-in)
    meta         created, lastModified, location and version (a weak ETag of the representation)

The extension ``urn:ppo:params:scim:schemas:extension:ouderportaal:2.0:User`` carries the
organisation (its code; set at creation, immutable) and the invitation: ``invitationState``
(pending, activated or expired), ``invitationSentAt``, ``invitationExpiresAt``, and the
write-only ``resendInvitation``: set it to true (PATCH or PUT) to send a new welcome e-mail
while the invitation is pending or expired; the old link stops working at once.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated

from flask import current_app
from scim2_models import (CaseExact, Context, Email, Extension, Meta, Mutability, Name, Required,
                          Returned, User)
from scim2_models.urn import URN
from sqlalchemy import select

from idp import clock
from idp.extensions import db
from idp.models import Account, Activation
from idp.models.account import DISABLED
from idp.oauth.tokens import SCIM_BASE

EXTENSION = "urn:ppo:params:scim:schemas:extension:ouderportaal:2.0:User"
PENDING, ACTIVATED, EXPIRED = "pending", "activated", "expired"


class Ouderportaal(Extension):
    __schema__ = URN(EXTENSION)

    organisation: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The code of the organisation the parent signs in under, e.g. PO2806. Required at creation
    by a service-wide client; a client bound to one organisation may leave it out."""

    invitation_state: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    """pending (the welcome e-mail's link works), activated, or expired (not activated in time,
    or the link was replaced)."""

    invitation_sent_at: Annotated[datetime | None, Mutability.read_only] = None
    """When the latest welcome e-mail was sent."""

    invitation_expires_at: Annotated[datetime | None, Mutability.read_only] = None
    """When the latest welcome e-mail's link stops (or stopped) working."""

    resend_invitation: Annotated[bool | None, Mutability.write_only, Returned.never] = None
    """Write true to send a new welcome e-mail (only before the account is activated)."""


ScimUser = User[Ouderportaal]


@dataclass(frozen=True)
class Invitation:
    state: str
    sent_at: int | None
    expires_at: int | None


def invitations(accounts: list[Account]) -> dict[int, Invitation]:
    """The invitation state of each account, in one query (a page of a search, or one)."""
    latest: dict[int, Activation] = {}
    ids = [account.id for account in accounts]
    if ids:
        rows = db.session.execute(
            select(Activation.account_id, Activation.issued_at, Activation.expires_at,
                   Activation.used_at)
            .where(Activation.account_id.in_(ids)).order_by(Activation.issued_at, Activation.id))
        for row in rows:
            latest[row.account_id] = row
    now = clock.timestamp()
    found = {}
    for account in accounts:
        row = latest.get(account.id)
        if account.activated_at is not None:
            state = ACTIVATED
        elif row is not None and row.used_at is None and row.expires_at > now:
            state = PENDING
        else:
            state = EXPIRED
        found[account.id] = Invitation(state, row.issued_at if row else None,
                                       row.expires_at if row else None)
    return found


def _time(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc)


def location(account: Account) -> str:
    return f"{current_app.config['IDP_ISSUER']}{SCIM_BASE}/Users/{account.subject}"


def to_user(account: Account, invitation: Invitation) -> ScimUser:
    """The account as a SCIM User, its meta.version a weak ETag of everything else in it."""
    user = ScimUser(
        id=account.subject,
        external_id=account.external_id,
        user_name=account.username,
        name=Name(formatted=account.name) if account.name else None,
        display_name=account.name,
        # As stored, not validated again: an address invited by other means (the CLI, the
        # console) that email-validator would refuse, e.g. a .invalid domain, is still shown.
        emails=[Email.model_construct(value=account.email, primary=True)],
        active=account.status != DISABLED,
        meta=Meta(resource_type="User", created=_time(account.created_at),
                  last_modified=_time(account.updated_at or account.created_at),
                  location=location(account)),
    )
    user[Ouderportaal] = Ouderportaal(
        organisation=account.organisation_code,
        invitation_state=invitation.state,
        invitation_sent_at=_time(invitation.sent_at),
        invitation_expires_at=_time(invitation.expires_at),
    )
    user.meta.version = _version(account, invitation)
    return user


def _version(account: Account, invitation: Invitation) -> str:
    """Weak (RFC 7232 2.1): made from everything the representation shows, so it changes with
    whatever a client can see (an activation, an invitation expiring or sent again), not only
    with the account's own ``version`` counter."""
    shown = (account.subject, account.version, account.updated_at, account.username,
             account.email, account.name, account.external_id, account.status,
             account.organisation_code, invitation.state, invitation.sent_at,
             invitation.expires_at)
    digest = hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:24]
    return f'W/"{digest}"'


def dump(user: ScimUser, context: Context = Context.RESOURCE_QUERY_RESPONSE, **options) -> dict:
    return user.model_dump(scim_ctx=context, **options)


@dataclass
class Wanted:
    """What a create, PUT or PATCH asks the account to be, in our terms."""

    username: str | None
    email: str | None
    name: str | None
    external_id: str | None
    active: bool
    organisation: str | None
    resend: bool


def _name(user: ScimUser, before: ScimUser | None) -> str | None:
    """We keep one name, shown as name.formatted and displayName: whichever of the two the
    request changed decides (both, or a create: name first)."""
    from_name = None
    if user.name is not None:
        parts = [user.name.given_name, user.name.middle_name, user.name.family_name]
        joined = " ".join(p.strip() for p in parts if p and p.strip())
        from_name = joined or (user.name.formatted or "").strip() or None
    display = (user.display_name or "").strip() or None
    if before is None:
        return from_name or display
    display_changed = user.display_name != before.display_name
    if user.name != before.name:
        return from_name or (display if display_changed else None)
    return display if display_changed else from_name or display


def wanted(user: ScimUser, before: ScimUser | None = None) -> Wanted:
    """Read a User: a new one, or the current one after a PUT or PATCH (``before``)."""
    extension = user[Ouderportaal] or Ouderportaal()
    emails = user.emails or []
    primary = next((e for e in emails if e.primary), emails[0] if emails else None)
    return Wanted(
        username=user.user_name,
        email=str(primary.value) if primary is not None and primary.value else None,
        name=_name(user, before),
        external_id=user.external_id,
        active=user.active is not False,
        organisation=extension.organisation,
        resend=bool(extension.resend_invitation),
    )


def parents():
    """Every parent account (never staff: SCIM provisions parents only)."""
    return select(Account).where(Account.role.is_(None))
