"""Security headers on every response (OWASP ASVS 14.4)."""

CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    # Browsers apply form-action to the redirect after a form, which goes to a relying party.
    "frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'"
)


def init_hardening(app):
    https = app.config["IDP_ISSUER"].startswith("https://")

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # Activation links carry a token: never send our URLs on to another site.
        headers.setdefault("Referrer-Policy", "no-referrer")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CSP)
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Cache-Control", "no-store")
        return response
