"""The identity provider for parents: app factory.

``create_app()`` resolves settings (idp.settings), opens the database and the ephemeral store,
wires Authlib (idp.oauth.server), registers blueprints, error pages, the page languages
(idp.i18n) and the CLI.
"""

import logging
import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from idp import database, logs, settings
from idp.sessions.browser import BrowserSessionInterface
from idp.crypto import SecretBox, load_decrypt_only_keks, load_kek
from idp.extensions import csrf, db
from idp.store import create_store

log = logging.getLogger("idp")


def create_app(overrides: dict | None = None) -> Flask:
    config = settings.load(overrides)
    app = Flask(
        __name__,
        template_folder="templates",  # idp/templates, in the package (pyproject.toml)
        static_folder="static",
    )
    app.config.update(config)
    _configure_flask(app)
    logs.configure(app.config["IDP_LOG_LEVEL"], app.config["IDP_LOG_FORMAT"])

    db.init_app(app)
    database.init_app(app, db)
    store = create_store(app.config)
    app.extensions["idp.store"] = store
    app.extensions["idp.secret_box"] = SecretBox(
        load_kek(app.config), load_decrypt_only_keks(app.config)
    )
    app.session_interface = BrowserSessionInterface(store, app.config["IDP_SESSION_MAX_TTL"])
    # Before CSRF protection reads the session: an unreadable one is a 503, not a CSRF failure.
    from idp.web.session_guard import refuse_when_unreadable

    app.before_request(refuse_when_unreadable)
    csrf.init_app(app)
    if not store.shared:
        log.warning(
            "IDP_REDIS_URL is not set: sessions live in this process only. "
            "Fine for one process; set IDP_REDIS_URL for several workers or replicas."
        )

    from idp.oauth.server import init_oauth
    from idp.web import init_web
    from idp.i18n import init_i18n
    from idp.cli import init_cli

    if app.config["IDP_PROXY_HOPS"]:
        # Only the configured hops are trusted: a client cannot pick its own IP for throttling.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["IDP_PROXY_HOPS"])
    init_oauth(app)
    init_web(app)
    init_i18n(app)
    init_cli(app)
    # Outermost: discovery, JWKS and /healthz need neither ProxyFix nor Flask (idp.web.documents).
    from idp.web.documents import DocumentLayer

    app.wsgi_app = DocumentLayer(app, app.wsgi_app)
    return app


def _configure_flask(app: Flask) -> None:
    config = app.config
    instance = Path(config["IDP_INSTANCE_DIR"])
    if not config["IDP_DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        config["IDP_DATABASE_URL"] = f"sqlite:///{instance / 'idp.sqlite3'}"
    config["SQLALCHEMY_DATABASE_URI"] = config["IDP_DATABASE_URL"]
    # No pool_pre_ping (a SELECT 1 round trip per request): idp.database replaces a pooled
    # connection that the server closed, at checkout, without asking the server.
    config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(
        config["IDP_DATABASE_URL"], config["IDP_DATABASE_STATEMENT_TIMEOUT"])
    https = config["IDP_ISSUER"].startswith("https://")
    if https and not config["IDP_SECRET_KEY"]:
        # A generated key lives in one pod's /tmp: every replica would sign cookies differently.
        raise RuntimeError("IDP_SECRET_KEY must be set when IDP_ISSUER is https (production); "
                           "a generated key is only for the embedded default.")
    config["SECRET_KEY"] = config["IDP_SECRET_KEY"] or _generated_secret_key(instance)
    config["SESSION_COOKIE_NAME"] = "__Host-idp" if https else "idp"
    config["SESSION_COOKIE_SECURE"] = https
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["PREFERRED_URL_SCHEME"] = "https" if https else "http"
    config["WTF_CSRF_TIME_LIMIT"] = config["IDP_SESSION_MAX_TTL"]
    config["MAX_CONTENT_LENGTH"] = 64 * 1024
    config["MAX_FORM_MEMORY_SIZE"] = 64 * 1024


def _generated_secret_key(instance: Path) -> str:
    """Embedded default only: a secret key made once and kept in the instance folder."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
