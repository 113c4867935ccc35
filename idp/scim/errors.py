"""RFC 7644 3.12 error responses: ``schemas``, ``status``, ``scimType``, ``detail``.

Every refusal at /scim/v2 is rendered here: a view's ``scim2_models.SCIMException``
(``idp.scim.views.refusal``) and the refusals the rest of the app makes before a SCIM view runs (limits, 404, 405, 413, outages): so a SCIM
client always reads an Error message, never an OAuth error object, a page or a stack trace.

This module is imported with the app (idp.web.errors answers /scim/ paths with it), so it leaves
scim2-models and pydantic (~15 MiB) to the first SCIM answer (idp.web.scim).
"""

import json

from flask import Response

#: RFC 7644 3.1: what we answer with (and accept, besides application/json).
MEDIA_TYPE = "application/scim+json"
#: Bearer token errors (RFC 6750 3.1), for WWW-Authenticate.
INVALID_TOKEN = "invalid_token"
INSUFFICIENT_SCOPE = "insufficient_scope"


def response(status: int, detail: str, scim_type: str | None = None,
             headers: dict | None = None) -> Response:
    from scim2_models import Error  # with the first SCIM answer, not with the app

    error = Error(status=status, scim_type=scim_type, detail=detail)
    body = json.dumps(error.model_dump(), separators=(",", ":"))
    answer = Response(body, status=status, mimetype=MEDIA_TYPE)
    answer.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        answer.headers[name] = value
    return answer


#: What the rest of the app's refusals mean to a SCIM client (status -> detail).
HTTP_DETAILS = {
    400: "The request could not be read.",
    404: "Not offered here: /Users and the discovery endpoints only (no Bulk, no Groups).",
    405: "This endpoint does not take that method.",
    413: "The request body is over the limit.",
    415: "The body must be application/scim+json or application/json.",
    500: "Something went wrong on our side; nothing was changed.",
    503: "The service is temporarily unavailable; nothing was changed. Try again later.",
}


def for_status(status: int, detail: str | None = None) -> Response:
    """A refusal made outside the SCIM views (request limits, routing, outages)."""
    return response(status, detail or HTTP_DETAILS.get(status, HTTP_DETAILS[400]))
