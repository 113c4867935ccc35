"""RFC 7644 3.12 error responses: ``schemas``, ``status``, ``scimType``, ``detail``.

Every refusal at /scim/v2 is a ``scim2_models.SCIMException`` rendered here, including the ones
the rest of the app raises before a SCIM view runs (limits, 404, 405, 413, outages): so a SCIM
client always reads an Error message, never an OAuth error object, a page or a stack trace.
"""

import json

from flask import Response
from scim2_models import Error, SCIMException

#: RFC 7644 3.1: what we answer with (and accept, besides application/json).
MEDIA_TYPE = "application/scim+json"
#: Bearer token errors (RFC 6750 3.1), for WWW-Authenticate.
INVALID_TOKEN = "invalid_token"
INSUFFICIENT_SCOPE = "insufficient_scope"


class BearerError(SCIMException):
    """401 or 403 with the RFC 6750 WWW-Authenticate challenge that says why."""

    def __init__(self, status: int, detail: str, error: str | None = None):
        super().__init__(detail=detail)
        self.status, self.error = status, error

    def challenge(self) -> str:
        challenge = 'Bearer realm="scim"'
        if self.error:
            challenge += f', error="{self.error}"'
        if self.error == INSUFFICIENT_SCOPE:
            challenge += ', scope="scim"'
        return challenge


def response(status: int, detail: str, scim_type: str | None = None,
             headers: dict | None = None) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    body = json.dumps(error.model_dump(), separators=(",", ":"))
    answer = Response(body, status=status, mimetype=MEDIA_TYPE)
    answer.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        answer.headers[name] = value
    return answer


def from_exception(error: SCIMException) -> Response:
    headers = {"WWW-Authenticate": error.challenge()} if isinstance(error, BearerError) else None
    return response(error.status, error.detail, error.scim_type or None, headers)


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
