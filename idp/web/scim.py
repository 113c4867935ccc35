"""SCIM 2.0 at /scim/v2 (RFC 7644): the URL table. The work is in idp.scim."""

import json

from flask import Blueprint, current_app, g, request
from scim2_models import InvalidValueException, SCIMException

from idp.oauth.tokens import SCIM_BASE
from idp.scim import auth, discovery, errors, users
from idp.scim.errors import MEDIA_TYPE

SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
bp = Blueprint("scim", __name__, url_prefix=SCIM_BASE)
#: RFC 7644 4: the discovery endpoints describe the service, nothing of anyone's; like the
#: OpenID configuration they are open. Everything else needs a client's token.
OPEN = {"scim.service_provider_config", "scim.schemas", "scim.schema", "scim.resource_types",
        "scim.resource_type"}


@bp.before_request
def authenticate():
    if request.endpoint not in OPEN:
        g.scim_caller = auth.caller()


@bp.errorhandler(SCIMException)
def scim_error(error):
    # Other refusals (413 while reading a body, 405, 404) get the same RFC 7644 body from the
    # app's handler (idp.web.errors), which answers every /scim/ path so.
    return errors.from_exception(error)


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


@bp.get("/ServiceProviderConfig")
def service_provider_config():
    return _answer(discovery.service_provider_config())


@bp.get("/Schemas")
def schemas():
    return _answer(_listed(discovery.schemas()))


@bp.get("/Schemas/<path:schema_id>")
def schema(schema_id):
    return _answer(discovery.one(discovery.schemas(), schema_id))


@bp.get("/ResourceTypes")
def resource_types():
    return _answer(_listed(discovery.resource_types()))


@bp.get("/ResourceTypes/<type_id>")
def resource_type(type_id):
    return _answer(discovery.one(discovery.resource_types(), type_id))


@bp.get("/Users")
def search():
    return _answer(users.search(g.scim_caller))


@bp.post("/Users/.search")
@bp.post("/.search")
def search_by_post():
    """RFC 7644 3.4.3: the same search, its parameters in a SearchRequest body (at the root
    too: Users are the only resources here)."""
    payload = users.body()
    if payload.get("schemas") != [SEARCH_REQUEST]:
        raise InvalidValueException(detail=f"a search body has schemas [{SEARCH_REQUEST}]")
    return _answer(users.search(g.scim_caller, payload))


@bp.post("/Users")
def create():
    user = users.create(g.scim_caller, users.body())
    return _answer(users.present(user), 201, user.meta.version, user.meta.location)


@bp.get("/Users/<subject>")
def get(subject):
    user = users.get(g.scim_caller, subject)
    if_none_match = request.headers.get("If-None-Match", "")
    if user.meta.version in [tag.strip() for tag in if_none_match.split(",")]:
        response = _answer({}, 304, user.meta.version)
        response.set_data(b"")
        return response
    return _answer(users.present(user), etag=user.meta.version)


@bp.put("/Users/<subject>")
def replace(subject):
    user = users.replace(g.scim_caller, subject, users.body())
    return _answer(users.present(user), etag=user.meta.version)


@bp.patch("/Users/<subject>")
def patch(subject):
    user = users.patch(g.scim_caller, subject, users.body())
    return _answer(users.present(user), etag=user.meta.version)


@bp.delete("/Users/<subject>")
def delete(subject):
    users.delete(g.scim_caller, subject)
    return "", 204
