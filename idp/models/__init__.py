"""Stored records, one module each."""

from idp.models.account import Account
from idp.models.account_link import AccountLink
from idp.models.activation import Activation
from idp.models.audit_event import AuditEvent
from idp.models.authorization_code import AuthorizationCode
from idp.models.client import Client
from idp.models.grant import Grant
from idp.models.organisation import Organisation
from idp.models.signing_key import SigningKey
from idp.models.token import RefreshToken

__all__ = [
    "Account",
    "AccountLink",
    "Activation",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Grant",
    "Organisation",
    "RefreshToken",
    "SigningKey",
]
