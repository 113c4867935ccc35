"""The dossier application's provisioning side, as tests use it: a client-credentials client
that asks the token endpoint for a ``scim`` token, and scim2-client (from PyPI) speaking SCIM to
the app through WSGI, with that token."""

import base64

from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_models import ResourceType, ScimProvider, User

from idp.scim.resources import EXTENSION, Ouderportaal, ScimUser  # noqa: F401 (for tests)
from tests.secrets_seen import remember, remember_tokens

BASE = "http://idp.test/scim/v2"


class Provisioner:
    """A registered client-credentials client (``idp client add --grant client_credentials``)."""

    def __init__(self, http, client_id, client_secret):
        self.http, self.client_id, self.client_secret = http, client_id, client_secret
        remember(client_secret)

    def token_response(self, scope="scim", secret=None):
        raw = f"{self.client_id}:{secret or self.client_secret}".encode()
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        response = self.http.post("/token", data=data, headers={
            "Authorization": "Basic " + base64.b64encode(raw).decode()})
        remember_tokens(response.get_json(silent=True))
        return response

    def token(self, scope="scim") -> str:
        response = self.token_response(scope)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["access_token"]

    def scim(self, app, token=None) -> WSGISCIMClient:
        """scim2-client against the app, having discovered what it offers."""
        provider = ScimProvider(models=[User, Ouderportaal],
                                resource_types=[ResourceType.from_resource(ScimUser)])
        client = WSGISCIMClient(app, base_url=BASE,
                                headers={"Authorization": f"Bearer {token or self.token()}"},
                                provider=provider)
        client.discover()  # the ServiceProviderConfig, as a client reads it before it starts
        return client

    def call(self, method, path, token=None, **kwargs):
        """A hand-written request, for the error cases."""
        headers = {"Authorization": f"Bearer {token or self.token()}", **kwargs.pop("headers", {})}
        return self.http.open(f"/scim/v2{path}", method=method, headers=headers, **kwargs)


def new_user(username="Yvonne.testouder", email="yvonne@example.org", external_id="dossier-1",
             name="Yvonne Testouder", **extension) -> ScimUser:
    from scim2_models import Email, Name

    user = ScimUser(user_name=username, external_id=external_id, name=Name(formatted=name),
                    emails=[Email(value=email, primary=True)])
    if extension:
        user[Ouderportaal] = Ouderportaal(**extension)
    return user


__all__ = ["EXTENSION", "Provisioner", "ScimUser", "new_user"]
