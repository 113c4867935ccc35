"""Which claims a parent's tokens carry: scopes to claims (OIDC Core 5.4), shared by the ID
token and userinfo, so the two never disagree."""

from authlib.oidc.core import UserInfo

#: OIDC Core 5.4: the claims each scope unlocks.
SCOPE_CLAIMS = {
    "profile": ("preferred_username", "name"),
    "email": ("email", "email_verified"),
}
#: offline_access (OIDC Core 11): refresh tokens that outlive the sign-in session; only for
#: clients registered with ``--allow-offline-access``.
PARENT_SCOPES = ("openid", "profile", "email", "offline_access")
#: Scopes of programs acting for themselves (client credentials, RFC 6749 4.4); never in a
#: parent's token. ``scim``: provisioning at /scim/v2 (idp.scim).
CLIENT_SCOPES = ("scim",)
SCOPES_SUPPORTED = PARENT_SCOPES + CLIENT_SCOPES


def user_info(account, scope: str) -> UserInfo:
    """The claims for ``account`` that ``scope`` allows, plus ``sub`` and ``org`` always."""
    available = {
        "preferred_username": account.username,
        "name": account.name or account.username,
        "email": account.email,
        # The address received the welcome e-mail and the parent activated through it.
        "email_verified": account.is_active,
    }
    info = UserInfo(sub=account.subject, org=account.organisation_code)
    scopes = set((scope or "").split())
    for scope_name, claim_names in SCOPE_CLAIMS.items():
        if scope_name in scopes:
            info.update({name: available[name] for name in claim_names})
    return info
