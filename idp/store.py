"""The ephemeral store: short-lived shared state (browser sessions, sign-in sessions, flows).

Redis in production, so every worker and replica sees the same state; an in-process dict in the
embedded default, which only works for one process. Both offer the same small, atomic API.
Expiry is measured with ``idp.clock`` in the in-process store and by Redis itself in production;
records that must expire exactly (sessions) also carry their own timestamps.

Besides plain keys there are *schedules* (a Redis sorted set: member -> due time). A worker
claims the due members with a lease (``claim_due``); a claim is atomic, so several workers on
several replicas never handle the same member twice at once, and a worker that dies mid-task
only delays the member until its lease runs out.
"""

import threading

import redis

from idp import clock


class MemoryStore:
    """A dict with expiry and a lock: atomic within one process only."""

    shared = False

    def __init__(self):
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._schedules: dict[str, dict[str, float]] = {}
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

    def schedule(self, name: str, member: str, due: float) -> None:
        with self._lock:
            self._schedules.setdefault(name, {})[member] = due

    def unschedule(self, name: str, member: str) -> bool:
        with self._lock:
            return self._schedules.get(name, {}).pop(member, None) is not None

    def claim_due(self, name: str, now: float, lease: float, limit: int = 100) -> list[str]:
        with self._lock:
            schedule = self._schedules.get(name, {})
            due = sorted((at, member) for member, at in schedule.items() if at <= now)[:limit]
            for _, member in due:
                schedule[member] = now + lease
            return [member for _, member in due]

    def scheduled(self, name: str) -> dict[str, float]:
        with self._lock:
            return dict(self._schedules.get(name, {}))

    def count(self, name: str) -> int:
        with self._lock:
            return len(self._schedules.get(name, {}))

    def set_and_schedule(self, key: str, value: bytes | str, ttl: int,
                         schedules: list[tuple[str, str, float]]) -> None:
        """``set`` and a ``schedule`` per (name, member, due), as one atomic step."""
        with self._lock:
            self._data[key] = (value.encode() if isinstance(value, str) else value, clock.now() + ttl)
            for name, member, due in schedules:
                self._schedules.setdefault(name, {})[member] = due


# Atomic in Redis (a script runs alone): take the due members and push their due time past the
# lease, so no other worker sees them until then.
_CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
"""


class RedisStore:
    """The same API on Redis; every operation is a single atomic command."""

    shared = True

    def __init__(self, url: str, prefix: str):
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self._claim_due = self.redis.register_script(_CLAIM_DUE)

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

    def schedule(self, name, member, due):
        self.redis.zadd(self.prefix + name, {member: due})

    def unschedule(self, name, member):
        return bool(self.redis.zrem(self.prefix + name, member))

    def claim_due(self, name, now, lease, limit=100):
        claimed = self._claim_due(keys=[self.prefix + name], args=[now, now + lease, limit])
        return [member.decode() for member in claimed]

    def scheduled(self, name):
        pairs = self.redis.zrange(self.prefix + name, 0, -1, withscores=True)
        return {member.decode(): score for member, score in pairs}

    def count(self, name):
        return self.redis.zcard(self.prefix + name)

    def set_and_schedule(self, key, value, ttl, schedules):
        # One round trip instead of one per command (a session is saved on every use), and
        # atomic (MULTI/EXEC): nobody sees the record without its schedules.
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.prefix + key, value, ex=max(1, int(ttl)))
        for name, member, due in schedules:
            pipe.zadd(self.prefix + name, {member: due})
        pipe.execute()


def create_store(config) -> MemoryStore | RedisStore:
    if config["IDP_REDIS_URL"]:
        return RedisStore(config["IDP_REDIS_URL"], config["IDP_REDIS_PREFIX"])
    return MemoryStore()
