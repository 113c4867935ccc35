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
