"""Every setting of the service: its key, default, unit and meaning, in one table.

Settings come from the environment (``IDP_*``) and, optionally, from an instance config file
(``IDP_CONFIG_FILE``, a Python file of ``IDP_* = value`` lines). The environment wins. The
configuration table of docs/operations.md is this table.
"""

import os
from dataclasses import dataclass
from pathlib import Path

#: The checkout, for the tests and tools that live beside the package. The app itself reads
#: nothing from here (an installed wheel has no checkout): what it ships is in the package, its
#: state in the working directory (IDP_INSTANCE_DIR, IDP_KEYS_DIR).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Runtime state: relative paths are from the working directory when the settings are loaded.
STATE_FOLDERS = ("IDP_INSTANCE_DIR", "IDP_KEYS_DIR")
DAY = 24 * 3600


@dataclass(frozen=True)
class Setting:
    default: object
    meaning: str


SETTINGS: dict[str, Setting] = {
    # --- where the service lives -------------------------------------------------------------
    "IDP_ISSUER": Setting(
        "http://127.0.0.1:5000",
        "Public base URL and OIDC issuer. Every link in pages and e-mails is built from it, "
        "never from the request's Host header. https enables Secure cookies.",
    ),
    "IDP_INSTANCE_DIR": Setting(
        "instance",
        "Folder for the embedded default's state: SQLite file, outbox, generated secret key. "
        "A relative path is taken from the working directory.",
    ),
    "IDP_CONFIG_FILE": Setting("", "Optional Python file with IDP_* settings (env wins)."),
    # --- storage -----------------------------------------------------------------------------
    "IDP_DATABASE_URL": Setting(
        "",
        "SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Several hosts (a primary and "
        "its standbys): postgresql+psycopg://user@/db?host=a:5432&host=b:5432"
        "&target_session_attrs=read-write (the first that accepts writes). "
        "Unset: SQLite file instance/idp.sqlite3.",
    ),
    "IDP_DATABASE_STATEMENT_TIMEOUT": Setting(
        15,
        "Seconds a PostgreSQL statement may run, lock waits included, before PostgreSQL cancels "
        "it: the request gets the 503 of an unavailable database instead of holding its thread "
        "(granian, the image's server, has no worker timeout to end it). 0: none set by the "
        "service. `idp db upgrade` runs its migrations without it; SQLite ignores it.",
    ),
    "IDP_REDIS_URL": Setting(
        "",
        "Redis for sessions, flows and one-time state, e.g. redis://host:6379/0; over TLS "
        "rediss://host:6380/0?ssl_ca_certs=/path/ca.pem; behind Sentinel "
        "redis+sentinel://host1:26379,host2:26379/mymaster/0 (rediss+sentinel:// for TLS). "
        "Unset: an in-process store that only works for a single process.",
    ),
    "IDP_REDIS_PREFIX": Setting("idp:", "Prefix of every Redis key this service writes."),
    "IDP_REDIS_TIMEOUT": Setting(
        2,
        "Seconds to wait for Redis (connecting, and each command). A Redis that does not answer "
        "in time makes the request a 503 instead of holding a worker.",
    ),
    # --- secrets -----------------------------------------------------------------------------
    "IDP_SECRET_KEY": Setting(
        "",
        "Signs session cookies and CSRF tokens. Unset: generated once into "
        "instance/secret_key (embedded default only).",
    ),
    "IDP_KEY_ENCRYPTION_KEY": Setting(
        "",
        "32 random bytes, base64url. Encrypts signing keys and TOTP secrets at rest "
        "(AES-GCM). Unset: generated once into keys/kek (embedded default only).",
    ),
    "IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY": Setting(
        "",
        "Other key-encryption keys (comma-separated, base64url), accepted for decrypting only: "
        "the old key while `idp keys rotate-kek` moves every secret to IDP_KEY_ENCRYPTION_KEY. "
        "Empty otherwise.",
    ),
    "IDP_KEYS_DIR": Setting(
        "keys", "Where the generated kek is kept; relative to the working directory."
    ),
    # --- signing keys ------------------------------------------------------------------------
    "IDP_KEYS_CACHE_TTL": Setting(
        30,
        "How long a worker keeps the signing keys before reading them again, and the JWKS "
        "max-age. With Redis, a rotation or revocation reaches every worker within about a "
        "second (a key-set version in Redis, looked at once a second); this is the bound "
        "without it. A next key is published twice this long before it signs.",
    ),
    "IDP_CLIENT_CACHE_TTL": Setting(
        30,
        "How long a worker keeps a relying party's registration (redirect URIs, secret hash) "
        "before reading it again; a change reaches every worker within this time. 0: no cache.",
    ),
    # --- e-mail ------------------------------------------------------------------------------
    "IDP_SMTP_URL": Setting(
        "",
        "smtp://user:pass@host:port, smtps://... (TLS), or smtp://...?starttls=true. "
        "Unset: e-mails are written to instance/outbox/ and printed on the console.",
    ),
    "IDP_SMTP_TIMEOUT": Setting(10, "Seconds to wait for the SMTP server."),
    "IDP_MAIL_FROM": Setting("Ouderportaal <no-reply@localhost>", "From address of e-mails."),
    "IDP_BRAND": Setting("Ouderportaal", "Product name in pages and e-mails."),
    "IDP_TWO_FACTOR_HELP_URL": Setting(
        "https://www.pporotterdam.nl/voor-ouders/kindkans-ouders/",
        "Where the welcome e-mail sends parents for help with two-factor sign-in.",
    ),
    "IDP_HELPDESK_URL": Setting(
        "https://www.pporotterdam.nl/voor-ouders/kindkans-ouders/",
        "The helpdesk link shown on every page for parents who are stuck.",
    ),
    # --- lifetimes, in seconds ---------------------------------------------------------------
    "IDP_ACTIVATION_TTL": Setting(7 * DAY, "How long an activation link works."),
    "IDP_PASSWORD_RESET_TTL": Setting(
        30 * 60, "How long a password-reset link works (single use; a newer one voids it)."
    ),
    "IDP_NEW_AUTHENTICATOR_TTL": Setting(
        3 * DAY,
        "How long a link to link a new authenticator app works (single use; a newer one voids "
        "it). With four eyes, counted from the approval.",
    ),
    "IDP_LOGIN_FLOW_TTL": Setting(
        30 * 60, "How long a started sign-in (an authorization request waiting) may take."
    ),
    "IDP_SESSION_IDLE_TTL": Setting(600, "A sign-in session ends after this long unused."),
    "IDP_SESSION_MAX_TTL": Setting(12 * 3600, "A sign-in session ends this long after sign-in."),
    "IDP_CODE_TTL": Setting(60, "Lifetime of an authorization code."),
    "IDP_ACCESS_TOKEN_TTL": Setting(300, "Lifetime of an access token (JWT)."),
    "IDP_ID_TOKEN_TTL": Setting(300, "Lifetime of an ID token."),
    "IDP_REFRESH_TOKEN_TTL": Setting(
        12 * 3600, "Lifetime of a refresh token; each use rotates it and restarts this clock."
    ),
    "IDP_LOGOUT_TOKEN_TTL": Setting(120, "Lifetime of a back-channel logout token."),
    # --- ending sessions: the worker and back-channel logout --------------------------------
    "IDP_WORKER": Setting(
        "auto",
        "Where the worker runs that ends expired sessions, delivers back-channel logouts and "
        "removes expired rows: `thread` (inside each app process), `off` (a separate "
        "`idp worker` process runs it), or `auto` (`thread` with the in-process store, `off` with Redis).",
    ),
    "IDP_WORKER_INTERVAL": Setting(5, "Seconds between two rounds of the worker."),
    "IDP_BACKCHANNEL_TIMEOUT": Setting(
        5, "Seconds to wait for a relying party's back-channel logout endpoint."
    ),
    "IDP_BACKCHANNEL_RETRY_FOR": Setting(
        900,
        "How long a failed back-channel logout is retried (with growing pauses: 5 s, 10 s, "
        "20 s, ... at most 5 minutes) before it is given up and logged.",
    ),
    # --- removing expired rows (idp.cleanup, run by the worker) ------------------------------
    "IDP_CLEANUP_INTERVAL": Setting(
        600,
        "Seconds between two runs of the clean-up of expired codes, refresh tokens, grants and "
        "activation links; one worker runs it per interval, however many run.",
    ),
    "IDP_CLEANUP_BATCH": Setting(
        1000, "Rows the clean-up deletes per transaction (each batch holds its locks briefly)."
    ),
    "IDP_CLEANUP_KEEP_ACTIVATIONS": Setting(
        30 * DAY,
        "How long an activation link (or an e-mailed reset or new-app link) is kept after it "
        "expired, so a parent opening it still reads 'expired' or 'already used' instead of "
        "'not valid'.",
    ),
    # --- throttling and lockout (idp.throttle) -------------------------------------------------
    "IDP_LOCKOUT_DELAY_AFTER": Setting(
        5, "Failed sign-ins of one account before each next attempt must wait (5, 10, 20, ... s)."
    ),
    "IDP_LOCKOUT_AFTER": Setting(
        10, "Failed sign-ins of one account that lock it for IDP_LOCKOUT_SECONDS (e-mail sent)."
    ),
    "IDP_LOCKOUT_SECONDS": Setting(900, "How long a lock lasts, after each further failure."),
    "IDP_LOCKOUT_PERMANENT_AFTER": Setting(
        100, "Consecutive failures after which only `idp parent unlock` opens the account "
        "(NIST SP 800-63B: at most 100)."
    ),
    "IDP_THROTTLE_WINDOW": Setting(600, "Sliding window for the per-IP and per-organisation limits."),
    "IDP_THROTTLE_IP_FAILURES": Setting(
        30, "Failed sign-ins from one client IP in the window before it gets 429."
    ),
    "IDP_THROTTLE_ORG_FAILURES": Setting(
        500, "Failed sign-ins in one organisation in the window before its sign-ins get 429."
    ),
    # --- self-service: e-mails a parent can ask for without signing in ---------------------------
    "IDP_SELFSERVICE_WINDOW": Setting(
        3600, "Sliding window of the self-service limits (forgotten password, a new activation link)."
    ),
    "IDP_SELFSERVICE_IP_REQUESTS": Setting(
        10, "Self-service requests from one client IP in the window before it gets 429."
    ),
    "IDP_SELFSERVICE_ACCOUNT_REQUESTS": Setting(
        3, "Self-service e-mails for one account (as typed, known or not) in the window; further "
        "requests get the same answer but no e-mail."
    ),
    "IDP_AUTHENTICATOR_MOVE_TTL": Setting(
        900, "How long moving the authenticator to a new phone may take after the old phone's code."
    ),
    "IDP_PROXY_HOPS": Setting(
        0, "Trusted proxies in front of the service (1 behind an ingress): the client IP is taken "
        "from that many X-Forwarded-For entries. 0: the connection's address."
    ),
    # --- password hashing (argon2id; OWASP minimum m=19 MiB, t=2, p=1) ----------------------
    "IDP_ARGON2_TIME_COST": Setting(2, "argon2id iterations."),
    "IDP_ARGON2_MEMORY_KIB": Setting(19 * 1024, "argon2id memory in KiB."),
    "IDP_ARGON2_PARALLELISM": Setting(1, "argon2id lanes."),
    "IDP_PASSWORD_MIN_LENGTH": Setting(
        10, "Shortest password a parent may choose where sign-in also asks for a code."
    ),
    "IDP_PASSWORD_MIN_LENGTH_NO_2FA": Setting(
        15, "Shortest password in an organisation without two-factor sign-in."
    ),
    # --- the staff console (/beheer) ---------------------------------------------------------
    "IDP_CONSOLE_STEP_UP_TTL": Setting(
        300, "A destructive console action (reset authenticator, delete, revoke a key) asks for a "
        "fresh code when the staff member's last code is older than this."
    ),
    "IDP_CONSOLE_ACTIONS_PER_MINUTE": Setting(
        30, "Console actions (POST forms) one staff member may do per minute; more get 429."
    ),
    "IDP_CONSOLE_PAGE_SIZE": Setting(50, "Rows per page in the console's lists."),
    # --- provisioning (SCIM 2.0 at /scim/v2, idp.scim) -----------------------------------------
    "IDP_SCIM_MAX_RESULTS": Setting(
        200,
        "Most Users one SCIM search page returns (ServiceProviderConfig filter.maxResults); a "
        "larger count is answered with this many (RFC 7644 3.4.2.4).",
    ),
    # --- running -----------------------------------------------------------------------------
    "IDP_LOG_LEVEL": Setting("INFO", "Python logging level."),
    "IDP_LOG_FORMAT": Setting(
        "json", "`json`: one JSON object per line with request id, client and organisation; "
        "`text`: plain lines for a console."
    ),
    "IDP_METRICS_PORT": Setting(
        9100, "/metrics answers only on this port (a listener of its own beside the HTTP "
        "server's, which the ingress does not route to); `idp worker` serves its own metrics "
        "there too."
    ),
    "IDP_DEMO_RP": Setting(
        False,
        "Serve the demo relying party at /demo/ (it uses the client \"Demo dossier\"). "
        "`idp demo up` turns it on; leave it off in production.",
    ),
}


def _coerce(key: str, raw: object) -> object:
    default = SETTINGS[key].default
    if isinstance(default, bool):
        return str(raw).lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a whole number, got {raw!r}") from None
    return str(raw)


def _from_file(path: str) -> dict[str, object]:
    values: dict[str, object] = {}
    exec(compile(Path(path).read_text(), path, "exec"), {}, values)  # operator-owned file
    return {k: v for k, v in values.items() if k in SETTINGS}


def load(overrides: dict | None = None) -> dict[str, object]:
    """Resolve every setting: defaults < config file < environment < explicit overrides."""
    config = {key: setting.default for key, setting in SETTINGS.items()}
    config_file = os.environ.get("IDP_CONFIG_FILE") or (overrides or {}).get("IDP_CONFIG_FILE")
    if config_file:
        config.update(_from_file(config_file))
    config.update({k: v for k, v in os.environ.items() if k in SETTINGS})
    config.update(overrides or {})
    unknown = set(overrides or {}) - set(SETTINGS)
    config = {key: _coerce(key, value) for key, value in config.items() if key in SETTINGS}
    config.update({k: (overrides or {})[k] for k in unknown})  # Flask keys from tests
    config["IDP_ISSUER"] = str(config["IDP_ISSUER"]).rstrip("/")
    for key in STATE_FOLDERS:  # absolute: a later change of directory does not move them
        config[key] = os.path.abspath(config[key])
    return config
