"""Signing keys: everything about the keys our tokens are signed with, in one package.

    store        the keys as the running service uses them: active key per algorithm, JWKS, cache
    version      the key-set version in the store: a change reaches every process within a second
    schedule     when a next key may sign and a retired one leaves the JWKS (from settings)
    lifecycle    rotate, revoke, import: state changes, each with its audit event
    pem_import   reading a PEM private key, refusing weak or unsupported ones
    kek_rotation re-encrypting every secret at rest under a new key-encryption key

Callers use the store through this package (``from idp import keys; keys.signing_key(alg)``).
"""

from idp.keys.store import (
    PURPOSE,
    SUPPORTED_ALGS,
    ForeignKek,
    add_key,
    changed,
    check_kek,
    ensure_keys,
    forget_cache,
    fresh_public_jwks_body_with_etag,
    generate,
    key_in_state,
    make_missing_keys,
    public_jwks,
    public_jwks_body_with_etag,
    signing_key,
    verification_keys,
)

__all__ = [
    "PURPOSE", "SUPPORTED_ALGS", "ForeignKek", "add_key", "changed", "check_kek", "ensure_keys",
    "forget_cache", "fresh_public_jwks_body_with_etag", "generate", "key_in_state", "make_missing_keys", "public_jwks",
    "public_jwks_body_with_etag", "signing_key", "verification_keys",
]
