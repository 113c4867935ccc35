"""The signing-key store: create keys, pick the active one per algorithm, publish the JWKS.

Keys live in the database so every worker and replica signs with the same set. Each process
keeps the decrypted set for at most ``CACHE_SECONDS``, so a change made by another process (a
rotation, a revocation) is used everywhere within that bound without a restart.
"""

import threading

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from idp import clock
from idp.extensions import db, secret_box
from idp.models.signing_key import ACTIVE, PUBLISHED, SigningKey

SUPPORTED_ALGS = ("RS256", "ES256")
CACHE_SECONDS = 30


def generate(alg: str):
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", private=True)
    raise ValueError(f"unsupported algorithm {alg}")


def add_key(private_key, alg: str, state: str) -> SigningKey:
    kid = private_key.thumbprint()
    public = private_key.as_dict(private=False)
    public.update(kid=kid, alg=alg, use="sig")
    now = clock.timestamp()
    record = SigningKey(
        kid=kid,
        alg=alg,
        state=state,
        public_jwk=public,
        private_key_encrypted=secret_box().encrypt(
            private_key.as_pem(private=True), "signing-key"
        ),
        created_at=now,
        activated_at=now if state == ACTIVE else None,
    )
    db.session.add(record)
    return record


def ensure_active_keys() -> list[str]:
    """Make an active key for every algorithm that has none; returns the kids made."""
    made = []
    for alg in SUPPORTED_ALGS:
        exists = db.session.scalar(
            select(SigningKey.id).where(SigningKey.alg == alg, SigningKey.state == ACTIVE)
        )
        if not exists:
            made.append(add_key(generate(alg), alg, ACTIVE).kid)
    db.session.commit()
    return made


class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.loaded_at = float("-inf")
        self.signing: dict[str, object] = {}  # alg -> private joserfc key with kid
        self.public: KeySet = KeySet([])
        self.jwks: dict = {"keys": []}


_cache = _Cache()


def _published() -> list[SigningKey]:
    query = select(SigningKey).where(SigningKey.state.in_(PUBLISHED)).order_by(SigningKey.id)
    return list(db.session.scalars(query))


def _load():
    with _cache.lock:
        if clock.now() - _cache.loaded_at < CACHE_SECONDS:
            return _cache
        rows = _published()
        if {row.alg for row in rows if row.state == ACTIVE} != set(SUPPORTED_ALGS):
            ensure_active_keys()  # first start: make what is missing
            rows = _published()
        signing = {}
        for row in rows:
            if row.state == ACTIVE:
                pem = secret_box().decrypt(row.private_key_encrypted, "signing-key")
                key = (RSAKey if row.alg == "RS256" else ECKey).import_key(
                    pem, {"kid": row.kid, "alg": row.alg, "use": "sig"}
                )
                signing[row.alg] = key
        _cache.signing = signing
        _cache.jwks = {"keys": [dict(row.public_jwk) for row in rows]}
        _cache.public = KeySet.import_key_set(_cache.jwks)
        _cache.loaded_at = clock.now()
        return _cache


def forget_cache() -> None:
    """Drop this process's copy, e.g. right after this process changed the keys."""
    _cache.loaded_at = float("-inf")


def signing_key(alg: str):
    """The active private key for ``alg`` (its ``kid`` set)."""
    try:
        return _load().signing[alg]
    except KeyError:
        raise RuntimeError(f"no active {alg} signing key; run `idp keys ensure`") from None


def public_jwks() -> dict:
    """The JWKS document: public parts of every published key, nothing private."""
    return _load().jwks


def verification_keys() -> KeySet:
    """Our own published public keys, for verifying tokens we issued."""
    return _load().public
