"""Secrets at rest: AES-GCM encryption under the key-encryption key, and hashing of tokens.

Encrypted values carry a version byte. The key-encryption key (KEK) can be rotated: the box
encrypts under the current KEK and also decrypts with any former one it is given, until
``idp keys rotate-kek`` (idp.keys.kek_rotation) has re-encrypted everything. Tokens
we hand out (activation links, codes, refresh tokens, client secrets) are random enough that
a plain SHA-256 is a safe lookup key; only their hash is stored.
"""

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"


class SecretBox:
    def __init__(self, key: bytes, decrypt_only: tuple[bytes, ...] | list[bytes] = ()):
        for candidate in (key, *decrypt_only):
            if len(candidate) != 32:
                raise ValueError("a key-encryption key must be 32 bytes (base64url encoded)")
        self._aead = AESGCM(key)
        #: Names the current KEK in the audit log without revealing it.
        self.kek_id = kek_id(key)
        self._former = [AESGCM(k) for k in decrypt_only if not same(k, key)]

    def encrypt(self, plaintext: bytes, purpose: str) -> bytes:
        """``purpose`` is bound as associated data: a TOTP secret can't pose as a signing key."""
        nonce = os.urandom(12)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, purpose.encode())

    def decrypt(self, blob: bytes, purpose: str) -> bytes:
        """The plaintext, under the current KEK or a former one; InvalidTag under none."""
        for aead in (self._aead, *self._former):
            try:
                return self._open(aead, blob, purpose)
            except InvalidTag:
                continue
        raise InvalidTag()

    def is_current(self, blob: bytes, purpose: str) -> bool:
        """Whether ``blob`` is already encrypted under the current KEK."""
        try:
            self._open(self._aead, blob, purpose)
        except InvalidTag:
            return False
        return True

    @staticmethod
    def _open(aead: AESGCM, blob: bytes, purpose: str) -> bytes:
        if blob[:1] != VERSION:
            raise ValueError("unknown encryption version")
        return aead.decrypt(blob[1:13], blob[13:], purpose.encode())


def load_kek(config) -> bytes:
    """The key-encryption key from the environment, or one generated into keys/ (embedded)."""
    configured = config["IDP_KEY_ENCRYPTION_KEY"]
    if configured:
        return _b64decode(configured)
    path = Path(config["IDP_KEYS_DIR"]) / "kek"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_kek())
    return _b64decode(path.read_text().strip())


def load_decrypt_only_keks(config) -> list[bytes]:
    """Former key-encryption keys, accepted for decrypting only during a KEK rotation."""
    listed = config["IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY"] or ""
    return [_b64decode(item.strip()) for item in listed.split(",") if item.strip()]


def kek_id(key: bytes) -> str:
    """A short public name for a KEK (for the audit log): a hash prefix, not the key."""
    return hashlib.sha256(b"idp-kek-id:" + key).hexdigest()[:12]


def new_kek() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_token(nbytes: int = 32) -> str:
    """A random URL-safe token (default 256 bits)."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)
