"""Security headers on every response (OWASP ASVS 5 V3.4, V14.3.2; RFC 9700 4.2, 4.16)."""

#: Pages: our own script and styles only, no inline script, never in a frame.
CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; "
    # Browsers apply form-action to the redirect after a form, which goes to a relying party.
    "frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'"
)
#: Everything else (JSON, plain text, static files): nothing may run or frame it.
CSP_NOT_A_PAGE = "default-src 'none'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
#: One year, the subdomains too (ASVS 5 V3.4.1).
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(https: bool, page: bool) -> list[tuple[str, str]]:
    """The headers every response gets unless it set its own, in the order they are added. Also
    what idp.web.documents sends below Flask, so the two cannot drift apart."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        # Activation links carry a token: never send our URLs on to another site.
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    if page:
        headers.append(("Content-Security-Policy", CSP))
        # Sign-in, activation and logout pages hold CSRF tokens and personal details.
        headers.append(("Cache-Control", "no-store"))
    else:
        headers.append(("Content-Security-Policy", CSP_NOT_A_PAGE))
    return headers


def security_headers_adder(app):
    """The after-request step (idp.web calls it) that adds the headers a response lacks."""
    https = app.config["IDP_ISSUER"].startswith("https://")
    for_pages = security_headers(https, page=True)
    for_the_rest = security_headers(https, page=False)

    def add_security_headers(response):
        headers = response.headers
        present = set(headers.keys(lower=True))  # one pass, not one per header (setdefault)
        for name, value in for_pages if response.mimetype == "text/html" else for_the_rest:
            if name.lower() not in present:
                headers.add(name, value)
        return response

    return add_security_headers
