"""The ephemeral store: short-lived shared state (browser sessions, sign-in sessions, flows).

Redis in production, so every worker and replica sees the same state; an in-process dict in the
embedded default, which only works for one process. Both offer the same small, atomic API.
Expiry is measured with ``idp.clock`` in the in-process store and by Redis itself in production;
records that must expire exactly (sessions) also carry their own timestamps.

Besides plain keys there are *schedules* (a Redis sorted set: member -> due time). A worker
claims the due members with a lease (``claim_due``); a claim is atomic, so several workers on
several replicas never handle the same member twice at once, and a worker that dies mid-task
only delays the member until its lease runs out.

A Redis that cannot be reached (refused, timed out, gone mid-command, read-only after a failover)
raises ``StoreUnavailable``. Nobody catches it on the way up: whatever needed the store (a replay
or single-use check, a session, a flow, throttling) fails, and the request becomes a 503
(``idp.web.errors``). Nothing is ever allowed because the store could not say no.
"""

import functools
import json
import threading

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ReadOnlyError
from redis.retry import Retry

from idp import clock, redis_url


class StoreUnavailable(Exception):
    """The store could not be reached; the request must fail (closed), never go on without it."""


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

    peek = get

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        with self._lock:
            return [item[0] if (item := self._live(key)) else None for key in keys]

    def set(self, key: str, value: bytes | str, ttl: int, only_if_new: bool = False) -> bool:
        if isinstance(value, str):
            value = value.encode()
        with self._lock:
            if only_if_new and self._live(key):
                return False
            self._data[key] = (value, clock.now() + ttl)
            return True

    def set_replacing(self, key: str, value: bytes | str, ttl: int, old_key: str) -> None:
        """``set``, with ``old_key`` deleted in the same atomic step."""
        if isinstance(value, str):
            value = value.encode()
        with self._lock:
            self._data.pop(old_key, None)
            self._data[key] = (value, clock.now() + ttl)

    def getdel(self, key: str) -> bytes | None:
        with self._lock:
            item = self._live(key)
            self._data.pop(key, None)
            return item[0] if item else None

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def ping(self) -> bool:
        return True

    def claim_until(self, key: str, now: float, until: float, ttl: int) -> bool:
        """Store ``until`` if the key is absent or its time has passed; True if it was stored."""
        with self._lock:
            item = self._live(key)
            if item and float(item[0]) > now:
                return False
            self._data[key] = (repr(until).encode(), clock.now() + ttl)
            return True

    def incr(self, key: str, ttl: int) -> int:
        """Add one and return the new count; the count expires ``ttl`` after its first use."""
        with self._lock:
            item = self._live(key)
            count = int(item[0]) + 1 if item else 1
            self._data[key] = (str(count).encode(), item[1] if item else clock.now() + ttl)
            return count

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

    def move_and_schedule(self, key: str, to_key: str, ttl: int, unschedule: list[tuple[str, str]],
                          schedules: list[tuple[str, str, float]]) -> bytes | None:
        """As one atomic step: take the value under ``key`` (GETDEL) and remove each
        (name, member) of ``unschedule``; if there was a value, keep it under ``to_key`` and add
        each (name, member, due) of ``schedules``. Returns the value taken, or None."""
        with self._lock:
            item = self._live(key)
            self._data.pop(key, None)
            for name, member in unschedule:
                self._schedules.get(name, {}).pop(member, None)
            if item is None:
                return None
            self._data[to_key] = (item[0], clock.now() + ttl)
            for name, member, due in schedules:
                self._schedules.setdefault(name, {})[member] = due
            return item[0]

    def touch_session(self, key: str, member: str, now: float, idle_ttl: int, max_ttl: int,
                      grace: int, schedule: str, index_prefix: str) -> tuple[bytes | None, bool]:
        """A sign-in session's use (idp.sessions.signin), as one atomic step: read the record (a
        JSON object with ``last_seen``, ``auth_time`` and ``account_id``) and, only if it still
        lives (``now`` before its idle and its absolute end), set ``last_seen`` to ``now`` and
        put its new end time on schedule ``schedule`` and on ``index_prefix`` + account id.
        Returns (the record, True) after a touch, (the record as found, False) for a record
        whose time is up, (None, False) for none."""
        with self._lock:
            item = self._live(key)
            if item is None:
                return None, False
            record = json.loads(item[0])
            if now >= min(record["last_seen"] + idle_ttl, record["auth_time"] + max_ttl):
                return item[0], False
            record["last_seen"] = now
            expires_at = min(now + idle_ttl, record["auth_time"] + max_ttl)
            value = json.dumps(record).encode()
            self._data[key] = (value, clock.now() + max(1, int(expires_at - now) + grace))
            for name in (schedule, index_prefix + str(record["account_id"])):
                self._schedules.setdefault(name, {})[member] = expires_at
            return value, True

    def replace(self, key: str, name: str, member: str,
                items: list[tuple[str, bytes | str, int, str, str, float]]) -> bool:
        """As one atomic step, and only if ``key`` is still there: delete it and its ``member``
        of schedule ``name``, and store each (key, value, ttl) with its (name, member, due).
        True for the one caller that did it."""
        with self._lock:
            if self._live(key) is None:
                return False
            self._data.pop(key)
            self._schedules.get(name, {}).pop(member, None)
            for item_key, value, ttl, queue, item_member, due in items:
                value = value.encode() if isinstance(value, str) else value
                self._data[item_key] = (value, clock.now() + ttl)
                self._schedules.setdefault(queue, {})[item_member] = due
            return True


# Atomic in Redis (a script runs alone): take the due members and push their due time past the
# lease, so no other worker sees them until then.
_CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
"""

# Atomic: a time-stamped claim (a throttling wait) is taken only by the first caller after the
# previous one's time has passed. The time is the service's clock, not Redis's.
_CLAIM_UNTIL = """
local held = redis.call('GET', KEYS[1])
if held and tonumber(held) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

# Atomic: a record leaves its key and, if it was there, lands under another with its schedules
# (KEYS: from, to, the unschedule sets, then the schedule sets; ARGV: ttl, the counts, then the
# members to unschedule, then member/due pairs).
_MOVE_AND_SCHEDULE = """
local value = redis.call('GETDEL', KEYS[1])
local gone, added = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, gone do redis.call('ZREM', KEYS[2 + i], ARGV[3 + i]) end
if not value then return false end
redis.call('SET', KEYS[2], value, 'EX', ARGV[1])
for i = 1, added do
  redis.call('ZADD', KEYS[2 + gone + i], ARGV[3 + gone + 2 * i], ARGV[2 + gone + 2 * i])
end
return value
"""

# Atomic and conditional: only whoever still finds KEYS[1] replaces it by the items (KEYS: the
# record, its schedule, then per item its key and its schedule; ARGV: the member, then per item
# value, ttl, member, due).
_REPLACE = """
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 1, (#KEYS - 2) / 2 do
  local at = 1 + 4 * (i - 1)
  redis.call('SET', KEYS[1 + 2 * i], ARGV[at + 1], 'EX', ARGV[at + 2])
  redis.call('ZADD', KEYS[2 + 2 * i], ARGV[at + 4], ARGV[at + 3])
end
return 1
"""


# Atomic: a sign-in session's use (MemoryStore.touch_session says what it does). KEYS: the
# record, the expiry schedule; ARGV: now, idle ttl, max ttl, grace, the member, the account
# index's key prefix (that key is named by the record, so it cannot be in KEYS; no Redis
# Cluster here). The record is read with cjson but not written with it (cjson would turn an
# empty list into {} and round the floats): only the number after "last_seen" is replaced, by
# ARGV[1] as json.dumps writes it. The pattern cannot match inside a JSON string (a quote in
# one is escaped), and json.dumps writes the key as '"last_seen": ' (the record is idp's own).
_TOUCH_SESSION = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
local record = cjson.decode(value)
local now, idle, max_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if now >= math.min(record.last_seen + idle, record.auth_time + max_ttl) then return {0, value} end
local touched, found = string.gsub(value, '"last_seen": [-+.%deE]+', '"last_seen": ' .. ARGV[1], 1)
if found ~= 1 then return redis.error_reply('session record without last_seen') end
local expires_at = math.min(now + idle, record.auth_time + max_ttl)
local ttl = math.max(1, math.floor(expires_at - now) + tonumber(ARGV[4]))
redis.call('SET', KEYS[1], touched, 'EX', ttl)
redis.call('ZADD', KEYS[2], expires_at, ARGV[5])
redis.call('ZADD', ARGV[6] .. string.format('%d', record.account_id), expires_at, ARGV[5])
return {1, touched}
"""

#: What "Redis is not there" looks like to redis-py. A ReadOnlyError is a replica that has not
#: (yet) been promoted after a failover: also an outage, not a bug.
_OUTAGE = (redis.ConnectionError, redis.TimeoutError, ReadOnlyError)
#: Everything that means "the store is down", for the error pages: also redis-py's own errors,
#: in case a new store operation is added without ``@_reachable``.
OUTAGE_ERRORS = (StoreUnavailable, *_OUTAGE)


def _reachable(operation):
    """Turn an outage into StoreUnavailable, with redis-py's own error as its cause."""

    @functools.wraps(operation)
    def call(self, *args, **kwargs):
        try:
            return operation(self, *args, **kwargs)
        except _OUTAGE as error:
            raise StoreUnavailable(f"Redis: {type(error).__name__}: {error}") from error

    return call


#: Seconds a quick read (``peek``) waits: a healthy Redis answers in well under a millisecond.
QUICK_TIMEOUT = 0.25


class RedisStore:
    """The same API on Redis; every operation is a single atomic command."""

    shared = True

    def __init__(self, url: str, prefix: str, timeout: float = 2):
        self.redis = redis_url.client(
            url,
            # A hung Redis costs a request at most this long, then it gets its 503: far below
            # gunicorn's worker timeout.
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One immediate retry on a broken connection: a pooled connection that Redis closed
            # (a restart) reconnects without the parent noticing. A retried write is harmless:
            # SET NX then answers "exists" and GETDEL "gone", both refusals. Timeouts are not
            # retried, so a hung Redis costs one timeout, not several.
            retry=Retry(NoBackoff(), retries=1, supported_errors=(redis.ConnectionError,)),
        )
        # For reads that have a slower way round (idp.keys.version): a hung Redis costs them a
        # fraction of IDP_REDIS_TIMEOUT, and they are not retried.
        self.quick = redis_url.client(url, socket_timeout=QUICK_TIMEOUT,
                                      socket_connect_timeout=QUICK_TIMEOUT)
        self.prefix = prefix
        # Registering only computes the script's SHA; redis-py loads it again by itself when a
        # restarted Redis answers NOSCRIPT, so nothing broken is kept across an outage.
        self._claim_due = self.redis.register_script(_CLAIM_DUE)
        self._claim_until = self.redis.register_script(_CLAIM_UNTIL)
        self._move_and_schedule = self.redis.register_script(_MOVE_AND_SCHEDULE)
        self._replace = self.redis.register_script(_REPLACE)
        self._touch_session = self.redis.register_script(_TOUCH_SESSION)

    @_reachable
    def get(self, key):
        return self.redis.get(self.prefix + key)

    def close(self):
        self.redis.close()
        self.quick.close()

    @_reachable
    def peek(self, key):
        """``get`` that gives up after QUICK_TIMEOUT."""
        return self.quick.get(self.prefix + key)

    @_reachable
    def get_many(self, keys):
        """The values of ``keys``, in one round trip (MGET)."""
        return self.redis.mget([self.prefix + key for key in keys])

    @_reachable
    def set(self, key, value, ttl, only_if_new=False):
        return bool(self.redis.set(self.prefix + key, value, ex=max(1, int(ttl)), nx=only_if_new))

    @_reachable
    def set_replacing(self, key, value, ttl, old_key):
        """``set`` and ``old_key``'s DEL in one MULTI: one round trip, both or neither."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.prefix + old_key)
            pipe.set(self.prefix + key, value, ex=max(1, int(ttl)))
            pipe.execute()

    @_reachable
    def getdel(self, key):
        return self.redis.getdel(self.prefix + key)

    @_reachable
    def delete(self, *keys):
        self.redis.delete(*(self.prefix + key for key in keys))

    @_reachable
    def ping(self):
        return self.redis.ping()

    @_reachable
    def claim_until(self, key, now, until, ttl):
        return bool(self._claim_until(keys=[self.prefix + key], args=[now, repr(until), max(1, int(ttl))]))

    @_reachable
    def incr(self, key, ttl):
        with self.redis.pipeline(transaction=True) as pipe:  # MULTI: both or neither
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, max(1, int(ttl)), nx=True)
            count, _ = pipe.execute()
        return count

    @_reachable
    def schedule(self, name, member, due):
        self.redis.zadd(self.prefix + name, {member: due})

    @_reachable
    def unschedule(self, name, member):
        return bool(self.redis.zrem(self.prefix + name, member))

    @_reachable
    def claim_due(self, name, now, lease, limit=100):
        claimed = self._claim_due(keys=[self.prefix + name], args=[now, now + lease, limit])
        return [member.decode() for member in claimed]

    @_reachable
    def scheduled(self, name):
        pairs = self.redis.zrange(self.prefix + name, 0, -1, withscores=True)
        return {member.decode(): score for member, score in pairs}

    @_reachable
    def count(self, name):
        return self.redis.zcard(self.prefix + name)

    @_reachable
    def move_and_schedule(self, key, to_key, ttl, unschedule, schedules):
        p = self.prefix
        keys = [p + key, p + to_key, *(p + name for name, _ in unschedule),
                *(p + name for name, _, _ in schedules)]
        args = [max(1, int(ttl)), len(unschedule), len(schedules),
                *(member for _, member in unschedule)]
        for _, member, due in schedules:
            args += [member, repr(float(due))]
        return self._move_and_schedule(keys=keys, args=args) or None

    @_reachable
    def replace(self, key, name, member, items):
        keys, args = [self.prefix + key, self.prefix + name], [member]
        for item_key, value, ttl, queue, item_member, due in items:
            keys += [self.prefix + item_key, self.prefix + queue]
            args += [value, max(1, int(ttl)), item_member, repr(float(due))]
        return bool(self._replace(keys=keys, args=args))

    @_reachable
    def touch_session(self, key, member, now, idle_ttl, max_ttl, grace, schedule, index_prefix):
        found = self._touch_session(
            keys=[self.prefix + key, self.prefix + schedule],
            args=[json.dumps(now), idle_ttl, max_ttl, grace, member, self.prefix + index_prefix])
        return (found[1], bool(found[0])) if found else (None, False)

    @_reachable
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
        return RedisStore(config["IDP_REDIS_URL"], config["IDP_REDIS_PREFIX"],
                          config["IDP_REDIS_TIMEOUT"])
    return MemoryStore()
