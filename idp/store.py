"""The ephemeral store: short-lived shared state (browser sessions, sign-in sessions, flows).

Redis in production, so every worker and replica sees the same state; an in-process dict in the
embedded default, which only works for one process. Both offer the same small, atomic API.
Expiry is measured with ``idp.clock`` in the in-process store and by Redis itself in production;
records that must expire exactly (sessions) also carry their own timestamps.
"""

import threading

import redis

from idp import clock


class MemoryStore:
    """A dict with expiry and a lock: atomic within one process only."""

    shared = False

    def __init__(self):
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key):
        item = self._data.get(key)
        if item and item[1] is not None and item[1] <= clock.now():
            del self._data[key]
            return None
        return item

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key)
            return item[0] if item else None

    def set(self, key: str, value: bytes | str, ttl: int, only_if_new: bool = False) -> bool:
        if isinstance(value, str):
            value = value.encode()
        with self._lock:
            if only_if_new and self._live(key):
                return False
            self._data[key] = (value, clock.now() + ttl)
            return True

    def getdel(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key)
            self._data.pop(key, None)
            return item[0] if item else None

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def ping(self) -> bool:
        return True


class RedisStore:
    """The same API on Redis; every operation is a single atomic command."""

    shared = True

    def __init__(self, url: str, prefix: str):
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix

    def get(self, key):
        return self.redis.get(self.prefix + key)

    def set(self, key, value, ttl, only_if_new=False):
        return bool(self.redis.set(self.prefix + key, value, ex=max(1, int(ttl)), nx=only_if_new))

    def getdel(self, key):
        return self.redis.getdel(self.prefix + key)

    def delete(self, key):
        self.redis.delete(self.prefix + key)

    def ping(self):
        return self.redis.ping()


def create_store(config) -> MemoryStore | RedisStore:
    if config["IDP_REDIS_URL"]:
        return RedisStore(config["IDP_REDIS_URL"], config["IDP_REDIS_PREFIX"])
    return MemoryStore()
