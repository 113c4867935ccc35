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


def init_hardening(app):
    https = app.config["IDP_ISSUER"].startswith("https://")

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # Activation links carry a token: never send our URLs on to another site.
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CSP)
            # Sign-in, activation and logout pages hold CSRF tokens and personal details.
            headers.setdefault("Cache-Control", "no-store")
        else:
            headers.setdefault("Content-Security-Policy", CSP_NOT_A_PAGE)
        return response
