"""The store's multi-key calls (one round trip each on Redis), alike on both stores: what the
throttle reads and clears per sign-in."""

from idp import clock


def test_get_many_answers_in_order_with_none_for_missing_and_expired(app):
    store = app.extensions["idp.store"]
    clock.freeze(clock.timestamp())
    store.set("t:one", "1", ttl=60)
    store.set("t:short", b"2", ttl=5)
    store.set("t:three", "3", ttl=60)
    assert store.get_many(["t:one", "t:none", "t:short", "t:three"]) == [b"1", None, b"2", b"3"]
    if not store.shared:  # Redis expires by its own clock; the in-process store by ours
        clock.freeze(clock.timestamp() + 10)
        assert store.get_many(["t:short", "t:one"]) == [None, b"1"]


def test_delete_removes_every_key_given(app):
    store = app.extensions["idp.store"]
    for key in ("t:a", "t:b", "t:c"):
        store.set(key, "x", ttl=60)
    store.delete("t:a", "t:c", "t:never-set")
    assert store.get_many(["t:a", "t:b", "t:c"]) == [None, b"x", None]


def test_set_replacing_sets_the_key_and_deletes_the_old_one(app):
    store = app.extensions["idp.store"]
    store.set("t:old", "before", ttl=60)
    store.set("t:other", "kept", ttl=60)
    store.set_replacing("t:new", "after", ttl=60, old_key="t:old")
    assert store.get_many(["t:old", "t:new", "t:other"]) == [None, b"after", b"kept"]
    store.set_replacing("t:newer", b"again", ttl=60, old_key="t:never-set")
    assert store.get("t:newer") == b"again"


def test_every_redis_operation_reports_an_unreachable_redis_as_the_store_unavailable():
    """The pages and the worker tell an outage by StoreUnavailable (idp.outages): every
    operation of the Redis store raises it, none redis-py's own error."""
    import inspect

    import pytest

    from idp.store import RedisStore, StoreUnavailable
    from tests.processes import free_port

    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", "t:", timeout=0.5)
    arguments = {
        "get": ("k",), "peek": ("k",), "get_many": (["k"],), "set": ("k", "v", 60),
        "set_replacing": ("k", "v", 60, "old"), "getdel": ("k",), "delete": ("k",),
        "ping": (), "claim_until": ("k", 1.0, 2.0, 60), "incr": ("k", 60),
        "schedule": ("s", "m", 1.0), "unschedule": ("s", "m"), "claim_due": ("s", 1.0, 5.0),
        "scheduled": ("s",), "count": ("s",), "move_and_schedule": ("k", "to", 60, [], []),
        "replace": ("k", "s", "m", []), "set_and_schedule": ("k", "v", 60, [("s", "m", 1.0)]),
        "touch_session": ("k", "m", 1.0, 60, 120, 5, "s", "i:"),
    }
    operations = {name for name, _ in inspect.getmembers(RedisStore, inspect.isfunction)
                  if not name.startswith("_") and name not in ("close",)}
    assert operations == set(arguments), operations ^ set(arguments)  # a new one: add it here
    for name, args in arguments.items():
        with pytest.raises(StoreUnavailable):
            getattr(store, name)(*args)
    store.close()
