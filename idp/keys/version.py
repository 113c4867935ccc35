"""The key-set version in the store: how a key change reaches every worker and replica within
about a second, without a store read per request.

Every key change (a key made, activated, rotated, revoked, imported) writes a new random version
to the store once it is committed (``announce``). Each process compares the store's version with
the one its cached keys were read under at most once per ``CHECK_INTERVAL`` (idp.keys.store): a
different version, or none it can read, makes it read the keys from the database again.

The version is a random token, not a counter: a Redis that restarted empty starts again from
nothing, and must never hand out a value a process already holds for an older key set.
"""

import logging

from idp import crypto
from idp.extensions import store
from idp.outages import STORE_DOWN

log = logging.getLogger(__name__)

KEY = "signing-keys-version"
#: Only a bound on a forgotten key: whoever finds it gone writes a new one (everyone re-reads once).
TTL = 30 * 24 * 3600
#: Seconds between two looks at the version, per process: the bound on a change's reach.
CHECK_INTERVAL = 1.0


def announce() -> bool:
    """Tell every process that the keys changed. False if the others cannot hear it (the store
    is down, or it is the in-process one): then the change reaches them within
    IDP_KEYS_CACHE_TTL, when they next read the database."""
    try:
        store().set(KEY, crypto.new_token(12), TTL)
        return store().shared
    except STORE_DOWN as error:
        log.warning("signing keys changed, but the store could not be told (%s): other processes "
                    "use the change within IDP_KEYS_CACHE_TTL", type(error).__name__)
        return False


def current() -> bytes | None:
    """The store's version (made now if there is none yet), or None if the store cannot say.
    Only a shared store (Redis) speaks for other processes; the in-process one speaks for
    this process alone."""
    try:
        version = store().peek(KEY)  # a hung Redis must not hold every request for long
        if version is None:
            store().set(KEY, crypto.new_token(12), TTL, only_if_new=True)
            version = store().get(KEY)
        return version
    except STORE_DOWN:
        return None
