"""The SCIM views, which idp.web.scim routes each /scim/v2 URL to: the caller checked first
(idp.scim.auth), every ``SCIMException`` answered as an RFC 7644 3.12 error.

Imported on a worker's first SCIM request, not with the app: with it come scim2-models and
pydantic (~15 MiB, docs/performance.md: Memory), which most workers never need.
"""

import json

from flask import current_app, g, request
from scim2_models import InvalidValueException, SCIMException

from idp.scim import auth, discovery, errors, users
from idp.scim.errors import MEDIA_TYPE

SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#: RFC 7644 4: the discovery endpoints describe the service, nothing of anyone's; like the
#: OpenID configuration they are open. Everything else needs a client's token.
OPEN = {"service_provider_config", "schemas", "schema", "resource_types", "resource_type"}


def answer(name: str, **arguments):
    """The view called ``name`` for this request."""
    try:
        if name not in OPEN:
            g.scim_caller = auth.caller()
        return VIEWS[name](**arguments)
    except SCIMException as error:
        return refusal(error)


def refusal(error: SCIMException):
    headers = {"WWW-Authenticate": error.challenge()} if isinstance(error, auth.BearerError) else None
    return errors.response(error.status, error.detail, error.scim_type or None, headers)


def _answer(body: dict, status: int = 200, etag: str | None = None, location: str | None = None):
    response = current_app.response_class(json.dumps(body, separators=(",", ":")), status=status,
                                          mimetype=MEDIA_TYPE)
    if etag:
        response.headers["ETag"] = etag
    if location:
        response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


def _listed(items: list[dict]) -> dict:
    """RFC 7644 4: /Schemas and /ResourceTypes answer a ListResponse of everything."""
    return {"schemas": [LIST_RESPONSE], "totalResults": len(items), "itemsPerPage": len(items),
            "startIndex": 1, "Resources": items}


def service_provider_config():
    return _answer(discovery.service_provider_config())


def schemas():
    return _answer(_listed(discovery.schemas()))


def schema(schema_id):
    return _answer(discovery.one(discovery.schemas(), schema_id))


def resource_types():
    return _answer(_listed(discovery.resource_types()))


def resource_type(type_id):
    return _answer(discovery.one(discovery.resource_types(), type_id))


def search():
    return _answer(users.search(g.scim_caller))


def search_by_post():
    """RFC 7644 3.4.3: the same search, its parameters in a SearchRequest body (at the root
    too: Users are the only resources here)."""
    payload = users.body()
    if payload.get("schemas") != [SEARCH_REQUEST]:
        raise InvalidValueException(detail=f"a search body has schemas [{SEARCH_REQUEST}]")
    return _answer(users.search(g.scim_caller, payload))


def create():
    user = users.create(g.scim_caller, users.body())
    return _answer(users.present(user), 201, user.meta.version, user.meta.location)


def get(subject):
    user = users.get(g.scim_caller, subject)
    if_none_match = request.headers.get("If-None-Match", "")
    if user.meta.version in [tag.strip() for tag in if_none_match.split(",")]:
        response = _answer({}, 304, user.meta.version)
        response.set_data(b"")
        return response
    return _answer(users.present(user), etag=user.meta.version)


def replace(subject):
    user = users.replace(g.scim_caller, subject, users.body())
    return _answer(users.present(user), etag=user.meta.version)


def patch(subject):
    user = users.patch(g.scim_caller, subject, users.body())
    return _answer(users.present(user), etag=user.meta.version)


def delete(subject):
    users.delete(g.scim_caller, subject)
    return "", 204


VIEWS = {view.__name__: view for view in (
    service_provider_config, schemas, schema, resource_types, resource_type, search,
    search_by_post, create, get, replace, patch, delete)}
