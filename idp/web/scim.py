"""SCIM 2.0 at /scim/v2 (RFC 7644): the URL table. The work is in idp.scim.

The views (idp.scim.views, and with them scim2-models and pydantic, ~15 MiB) are imported on a
worker's first SCIM request: the app, which gunicorn loads before forking, stays without them,
and so does every worker that never serves SCIM (docs/performance.md: Memory).
"""

from flask import Blueprint

from idp.oauth.tokens import SCIM_BASE

bp = Blueprint("scim", __name__, url_prefix=SCIM_BASE)

#: (rule, view in idp.scim.views, methods)
ROUTES = (
    ("/ServiceProviderConfig", "service_provider_config", ["GET"]),
    ("/Schemas", "schemas", ["GET"]),
    ("/Schemas/<path:schema_id>", "schema", ["GET"]),
    ("/ResourceTypes", "resource_types", ["GET"]),
    ("/ResourceTypes/<type_id>", "resource_type", ["GET"]),
    ("/Users", "search", ["GET"]),
    ("/Users/.search", "search_by_post", ["POST"]),
    ("/.search", "search_by_post", ["POST"]),
    ("/Users", "create", ["POST"]),
    ("/Users/<subject>", "get", ["GET"]),
    ("/Users/<subject>", "replace", ["PUT"]),
    ("/Users/<subject>", "patch", ["PATCH"]),
    ("/Users/<subject>", "delete", ["DELETE"]),
)


def _view(name: str):
    def view(**arguments):
        from idp.scim import views  # on first use (the module docstring says why)

        return views.answer(name, **arguments)

    view.__name__ = name
    return view


_VIEWS = {name: _view(name) for _, name, _ in ROUTES}
for rule, name, methods in ROUTES:
    bp.add_url_rule(rule, name, _VIEWS[name], methods=methods)
