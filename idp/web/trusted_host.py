"""The Host header: never used to build a URL (every link and redirect comes from IDP_ISSUER),
and in production (an https issuer) a request for any other host is refused with a 400, so a
forged Host cannot reach pages, caches or logs as if it were ours (OWASP ASVS 5 V4.1.1,
V13.4; RFC 9110 7.2).

The probes and ``/metrics`` are exempt: the kubelet and Prometheus call a pod by its IP.
"""

from urllib.parse import urlsplit

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from idp.web.errors import refuse

EXEMPT_PATHS = ("/healthz", "/readyz", "/metrics")

UNKNOWN_HOST = _l(
    "Dit adres hoort niet bij deze dienst. Gebruik de link van de website of uit de e-mail."
)


def normalised_host(host: str) -> str:
    """Hosts compare without case and without https's own port."""
    host = host.lower()
    return host[: -len(":443")] if host.endswith(":443") else host


def expected_host(config) -> str | None:
    """The one Host answered (normalised), or None: the embedded default (an http issuer) answers
    on whatever address it is opened with."""
    issuer = urlsplit(config["IDP_ISSUER"])
    return normalised_host(issuer.netloc) if issuer.scheme == "https" else None


def host_check(app):
    """The before-request check (idp.web calls it first), or None when no Host is checked."""
    expected = expected_host(app.config)
    if expected is None:
        return None

    def refuse_unknown_host():
        if request.path in EXEMPT_PATHS or normalised_host(request.host) == expected:
            return None
        current_app.logger.warning("request for an unknown host refused")
        return refuse(400, UNKNOWN_HOST, "unknown host")

    return refuse_unknown_host
