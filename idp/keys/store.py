"""The signing-key store as the running service uses it: the active key per algorithm, the
JWKS, the keys we verify our own tokens with, and making keys that are missing.

Keys live in the database so every worker and replica signs with the same set. Each process
keeps the decrypted set for at most ``IDP_KEYS_CACHE_TTL`` seconds. A change made by another
process (a rotation, a revocation: idp.keys.lifecycle) is announced in the store
(idp.keys.version), and every process looks at that once a second: so with Redis a change is
used everywhere within about a second, and without it (or while Redis is down, when the keys are
read from the database every second instead) within the cache TTL at most. The cached set also
expires the moment a retired key's time is up, so a retired key leaves the JWKS exactly at
``key_schedule.removed_at``.

With the database down, the public JWKS is served as last read while the store confirms that no
key changed since (stale-if-error): relying parties that restart can still verify the tokens they
hold. Signing and verifying never use a stale set: they wait for the database.
"""

import contextlib
import hashlib
import json
import logging
import threading
import time

from cryptography.exceptions import InvalidTag
from flask import current_app
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from idp import audit, clock
from idp.keys import schedule as key_schedule
from idp.keys import version as key_version
from idp.extensions import db, secret_box, store
from idp.outages import DATABASE_DOWN, describe
from idp.models.signing_key import ACTIVE, NEXT, PUBLISHED, RETIRED, SigningKey

log = logging.getLogger(__name__)

SUPPORTED_ALGS = ("RS256", "ES256")
#: Associated data of the encrypted private keys (idp.crypto): only a signing key decrypts as one.
PURPOSE = "signing-key"
#: RFC 7517/7518 public members; anything else a stored JWK might hold is never published.
PUBLIC_MEMBERS = ("kty", "kid", "alg", "use", "n", "e", "crv", "x", "y")


class ForeignKek(Exception):
    """The configured key-encryption key cannot open the keys already stored."""


def check_kek() -> None:
    """Refuse to store keys under a KEK that cannot open the ones already stored: a command run
    without the service's configuration (say, a cron job missing IDP_KEY_ENCRYPTION_KEY, which
    then generates a key of its own) would otherwise make keys no worker can use."""
    query = select(SigningKey.private_key_encrypted).where(SigningKey.state.in_(PUBLISHED))
    sample = db.session.scalar(query.limit(1))
    if sample is None:
        return
    try:
        secret_box().decrypt(bytes(sample), PURPOSE)
    except (InvalidTag, ValueError):
        raise ForeignKek(
            f"the key-encryption key in use ({secret_box().kek_id}) cannot open the signing keys "
            "already stored: this is not the service's IDP_KEY_ENCRYPTION_KEY. Nothing was changed."
        ) from None


def generate(alg: str):
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", private=True)
    raise ValueError(f"unsupported algorithm {alg}")


def add_key(private_key, alg: str, state: str) -> SigningKey:
    """Store a key (the caller commits). From this moment it is published, unless revoked."""
    kid = private_key.thumbprint()
    public = {k: v for k, v in private_key.as_dict(private=False).items() if k in PUBLIC_MEMBERS}
    public.update(kid=kid, alg=alg, use="sig")
    now = clock.timestamp()
    record = SigningKey(
        kid=kid,
        alg=alg,
        state=state,
        public_jwk=public,
        private_key_encrypted=secret_box().encrypt(private_key.as_pem(private=True), PURPOSE),
        created_at=now,
        activated_at=now if state == ACTIVE else None,
    )
    db.session.add(record)
    db.session.flush()
    return record


def private_key(record: SigningKey):
    """The decrypted private key of a stored record, as a joserfc key with its kid."""
    pem = secret_box().decrypt(record.private_key_encrypted, PURPOSE)
    return (RSAKey if record.alg == "RS256" else ECKey).import_key(
        pem, {"kid": record.kid, "alg": record.alg, "use": "sig"}
    )


def key_in_state(alg: str, state: str) -> SigningKey | None:
    query = select(SigningKey).where(SigningKey.alg == alg, SigningKey.state == state)
    return db.session.scalar(query)


def make_missing_keys(actor: str, reason: str) -> list[SigningKey]:
    """Give every algorithm an active key and a next key; the caller commits.

    Without an active key, the next key (already published) is promoted at once; only when
    there is none either is a brand-new key made active (first start: nobody has cached a JWKS
    yet). Each change is audited.
    """
    made = []
    now = clock.timestamp()
    for alg in SUPPORTED_ALGS:
        if key_in_state(alg, ACTIVE) is None:
            waiting = key_in_state(alg, NEXT)
            if waiting is not None:
                db.session.execute(
                    update(SigningKey).where(SigningKey.id == waiting.id, SigningKey.state == NEXT)
                    .values(state=ACTIVE, activated_at=now)
                )
                audit.record(actor, "signing_key.activate", waiting.kid, alg=alg, reason=reason)
            else:
                made.append(_create(alg, ACTIVE, actor, reason))
        if key_in_state(alg, NEXT) is None:
            made.append(_create(alg, NEXT, actor, reason))
    return made


def _create(alg: str, state: str, actor: str, reason: str) -> SigningKey:
    record = add_key(generate(alg), alg, state)
    audit.record(actor, "signing_key.create", record.kid, alg=alg, state=state, reason=reason)
    return record


def ensure_keys(actor: str, reason: str = "ensure") -> list[str]:
    """Make sure every algorithm has an active and a next key; returns the kids made."""
    check_kek()
    try:
        made = [key.kid for key in make_missing_keys(actor, reason)]
        db.session.commit()
    except IntegrityError:
        # Another worker made them at the same moment (one active/next per algorithm is a
        # unique index); theirs are as good as ours.
        db.session.rollback()
        return []
    if made:
        changed()
    return made


class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.expires_at = float("-inf")
        self.signing: dict[str, object] = {}  # alg -> private joserfc key with kid
        self.private_keys: dict[str, object] = {}  # kid -> the same keys, by kid
        self.public: KeySet = KeySet([])
        self.jwks: dict = {"keys": []}
        self.etag = ""
        self.jwks_body = b""
        self.published: list[tuple[dict, float | None]] = []  # (public JWK, leaves the JWKS at)
        self.published_until = float("inf")  # when the next of those leaves
        self.loaded = False
        #: The store's key-set version these keys were read under (idp.keys.version), and when
        #: we next look at it (time.monotonic: a rate, not a time of day).
        self.version: bytes | None = None
        self.next_check = float("-inf")
        self.seen: bytes | None = None  # what the last look found
        #: While the database is down: when a stale-if-error reader may try it again.
        self.retry_database_at = float("-inf")
        self.stale = False

    @property
    def confirmed(self) -> bool:
        """The last look at the store's version found the one these keys were read under."""
        return self.seen is not None and self.seen == self.version


_cache = _Cache()


def _stored() -> list[SigningKey]:
    query = select(SigningKey).where(SigningKey.state.in_(PUBLISHED)).order_by(SigningKey.id)
    return list(db.session.scalars(query))


def _look_at_version() -> bool:
    """False when the cached keys must be read again because of another process: once per
    CHECK_INTERVAL at most, the store's version is read; a different one, or none (the store is
    down: nothing is confirmed, so the database is asked instead), means read again. Between two
    looks the last decision stands. The in-process store speaks for this process only, which
    forgets its keys itself when it changes them."""
    if not store().shared or time.monotonic() < _cache.next_check:
        return True
    _cache.seen = key_version.current()
    _cache.next_check = time.monotonic() + key_version.CHECK_INTERVAL
    return _cache.confirmed


def _answers_alone(shared_store: bool) -> bool:
    """The cached keys answer without a look at the store or the database: their time is not up,
    they were read (not kept through an outage), and no look at the key-set version is due (the
    in-process store needs none). Call with ``_cache.lock`` held."""
    return (clock.now() < _cache.expires_at and not _cache.stale
            and (not shared_store or time.monotonic() < _cache.next_check))


def _load(stale_if_error: bool = False):
    """The cached keys, read again when their time is up or another process changed them.

    ``stale_if_error``: with the database down, the last keys read are good enough if the store
    confirms no key changed since (every change goes through the database, so none can while it
    is down); only the public JWKS asks for this. Signing and verifying never do.
    """
    with _cache.lock:
        if _answers_alone(store().shared):
            return _cache
        now = clock.now()
        unchanged = _look_at_version()
        if now < _cache.expires_at and unchanged and not _cache.stale:
            return _cache
        if (stale_if_error and _cache.stale and _cache.confirmed
                and time.monotonic() < _cache.retry_database_at):
            if now >= _cache.published_until:
                _publish(now)
            return _cache  # the database was down a moment ago: don't queue on it per request
        try:
            _read(now, _cache.seen)
        except DATABASE_DOWN as error:
            with contextlib.suppress(*DATABASE_DOWN):
                db.session.rollback()
            # Due again at once: a change seen at the last look still needs the read that failed,
            # and until then the set read before it is not used, between looks neither.
            _cache.expires_at = float("-inf")
            if not (stale_if_error and _cache.loaded and _cache.confirmed):
                raise
            if not _cache.stale:
                log.warning("signing keys cannot be read (%s): the JWKS is served as last read, "
                            "signing waits for the database", describe(error))
            _cache.stale = True
            _cache.retry_database_at = time.monotonic() + key_version.CHECK_INTERVAL
            _publish(now)
        return _cache


def _read(now: float, version: bytes | None) -> None:
    config = current_app.config
    rows = _stored()
    if {row.alg for row in rows if row.state == ACTIVE} != set(SUPPORTED_ALGS):
        ensure_keys(audit.SERVICE, "first use")  # normally `idp db upgrade` did this
        rows = _stored()
    published = [row for row in rows if key_schedule.is_published(row, config, now)]
    # A key already decrypted is reused while it stays active: importing an RSA private key
    # costs tens of milliseconds (its consistency check), too much to repeat every cache
    # period in every worker, in the middle of somebody's token request.
    active = [row for row in published if row.state == ACTIVE]
    _cache.private_keys = {row.kid: _cache.private_keys.get(row.kid) or private_key(row)
                           for row in active}
    _cache.signing = {row.alg: _cache.private_keys[row.kid] for row in active}
    # Each published key with the time it leaves the JWKS (None: no end yet).
    _cache.published = [(_public_members(row.public_jwk),
                         key_schedule.removed_at(row, config) if row.state == RETIRED else None)
                        for row in published]
    _publish(now)
    ends = [end for _, end in _cache.published if end is not None]
    _cache.expires_at = min([now + key_schedule.cache_ttl(config), *ends])
    # Read before the rows: a change committed in between is announced after, and seen next time.
    _cache.version = version
    _cache.loaded, _cache.stale = True, False


def _publish(now: float) -> None:
    """The JWKS and the verification keys from the published keys whose time is not up; also
    while the database is down, so a retired key leaves the stale JWKS on time too."""
    _cache.jwks = {"keys": [jwk for jwk, end in _cache.published if end is None or now < end]}
    _cache.published_until = min([end for _, end in _cache.published
                                  if end is not None and now < end], default=float("inf"))
    _cache.public = KeySet.import_key_set(_cache.jwks)
    canonical = json.dumps(_cache.jwks, sort_keys=True).encode()
    _cache.etag = hashlib.sha256(canonical).hexdigest()[:32]
    _cache.jwks_body = json.dumps(_cache.jwks, separators=(",", ":")).encode()


def _public_members(jwk: dict) -> dict:
    return {member: jwk[member] for member in PUBLIC_MEMBERS if member in jwk}


def forget_cache() -> None:
    """Drop this process's copy, e.g. right after this process changed the keys (or a test
    moved to another database); the next use decrypts every key again (a periodic refresh
    reuses the ones it has)."""
    _cache.expires_at = float("-inf")
    _cache.private_keys = {}
    _cache.loaded = _cache.stale = False
    _cache.version = _cache.seen = None
    _cache.next_check = float("-inf")


def changed() -> bool:
    """After a committed key change: this process forgets its keys, and every other one is told
    (idp.keys.version). False if the others could not be told."""
    forget_cache()
    return key_version.announce()


def signing_key(alg: str):
    """The active private key for ``alg`` (its ``kid`` set)."""
    try:
        return _load().signing[alg]
    except KeyError:
        raise RuntimeError(f"no active {alg} signing key; run `idp keys ensure`") from None


def public_jwks() -> dict:
    """The JWKS document (RFC 7517 section 5): the public members of every published key."""
    return _load(stale_if_error=True).jwks


def verification_keys() -> KeySet:
    """Our own published public keys, for verifying tokens we issued. A revoked key, or a
    retired one past its time, is not among them."""
    return _load().public


def public_jwks_body_with_etag() -> tuple[bytes, str]:
    """The JWKS document serialized once per key change (not per request), and its validator."""
    loaded = _load(stale_if_error=True)
    return loaded.jwks_body, loaded.etag


def fresh_public_jwks_body_with_etag(shared_store: bool) -> tuple[bytes, str] | None:
    """What ``public_jwks_body_with_etag`` answers when the cache answers alone (``_answers_alone``),
    else None. Reads neither store nor database, so it needs no app context (idp.web.documents);
    ``shared_store``: the app's store is Redis (``store().shared``)."""
    with _cache.lock:
        if _answers_alone(shared_store):
            return _cache.jwks_body, _cache.etag
    return None
