"""A relying party (RFC 6749 client) with the metadata of OIDC Dynamic Registration section 2.

A client may be a program acting for itself (RFC 6749 4.4, client credentials: a provisioning
client such as the dossier's SCIM sync); such a client may be bound to one organisation, and its
tokens then reach that organisation only. Without an organisation it is service-wide.

Client secrets are random and long, so a SHA-256 of the secret is stored and compared in
constant time; the secret itself is shown once when the client is registered.
"""

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp import crypto
from idp.extensions import db

#: What a relying party that signs parents in may use (the default of every client).
SIGN_IN_GRANTS = ("authorization_code", "refresh_token")
#: RFC 6749 4.4: a program acting for itself, e.g. SCIM provisioning.
CLIENT_CREDENTIALS = "client_credentials"
GRANT_TYPES = (*SIGN_IN_GRANTS, CLIENT_CREDENTIALS)


class Client(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    #: client_secret_basic, client_secret_post, or none (public client; PKCE is then its proof).
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(500), default="openid profile email")
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    #: Back-Channel Logout 1.0: where we POST a logout token when a session it took part in ends.
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[int] = mapped_column(Integer)
    #: Switched off by servicebeheer (idp.console.service): no codes, tokens or refreshes.
    disabled_at: Mapped[int | None] = mapped_column(Integer)
    #: The grant types it may use (RFC 7591 ``grant_types``), space-separated.
    grant_types_text: Mapped[str] = mapped_column(
        "grant_types", String(200), default=" ".join(SIGN_IN_GRANTS),
        server_default=" ".join(SIGN_IN_GRANTS))
    #: The one organisation a client-credentials client acts on (None: service-wide).
    #: (An id, not a relationship: registrations are cached detached, idp.oauth.server.)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))

    @property
    def grant_types(self) -> tuple[str, ...]:
        return tuple(self.grant_types_text.split())

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def client_metadata(self) -> dict:
        return {"id_token_signed_response_alg": self.id_token_signed_response_alg}

    # --- authlib.oauth2.rfc6749.ClientMixin -----------------------------------------------
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        # Always demand an explicit redirect_uri: OIDC Core 3.1.2.1 makes it REQUIRED.
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        """Exact string match (RFC 9700 section 4.1.3): no prefix, no normalisation."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        if not self.client_secret_hash:
            return False
        return crypto.same(crypto.token_hash(client_secret), self.client_secret_hash)

    def check_endpoint_auth_method(self, method, endpoint):
        if endpoint == "token":
            return method == self.token_endpoint_auth_method
        # revocation: public clients identify with client_id alone; introspection is not
        # offered to them at all (its endpoint accepts no "none").
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types
