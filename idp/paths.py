"""Which URL paths belong to programs rather than people.

Program endpoints answer errors as JSON (RFC 6749 error objects; RFC 7644 ones under /scim/),
never use the browser session
and have no page language. Both the web layer and the browser session read this list, so it
lives below both.
"""

#: SCIM (idp.scim): its refusals are RFC 7644 errors, and its bodies JSON, not forms.
SCIM_PREFIX = "/scim/"
#: Path prefixes whose callers are programs.
API_PATHS = ("/token", "/revoke", "/introspect", "/userinfo", "/jwks", "/.well-known/",
             "/healthz", "/readyz", "/metrics", SCIM_PREFIX)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PATHS)


def is_scim_path(path: str) -> bool:
    return path.startswith(SCIM_PREFIX)
