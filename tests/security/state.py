"""What the service has stored: every table and every key of the store, to prove that a
refused request changed nothing."""

from idp.extensions import db
from idp.store import MemoryStore

#: Written by any request of a browser, refused or not: the server-side browser session (the
#: CSRF token of a form shown again). Nothing else may change on a refusal.
CHANGED_BY_ANY_REQUEST = (
    "browser:",
    "throttle:",  # a refused sign-in is counted: by design (idp.throttle)
)


def stored(app) -> dict:
    with app.app_context():
        tables = {
            table.name: sorted(repr(tuple(row)) for row in db.session.execute(table.select()))
            for table in db.metadata.sorted_tables
        }
        db.session.remove()
    return {"tables": tables, "store": _store(app.extensions["idp.store"])}


def _store(store) -> dict:
    if isinstance(store, MemoryStore):
        with store._lock:
            items = {key: value for key, (value, _) in store._data.items()}
            items.update({f"schedule {name}": sorted(members)
                          for name, members in store._schedules.items()})
    else:
        raw_keys = sorted(store.redis.scan_iter(f"{store.prefix}*", count=10_000))
        with store.redis.pipeline(transaction=False) as types:
            for raw_key in raw_keys:
                types.type(raw_key)
            kinds = types.execute()
        with store.redis.pipeline(transaction=False) as values:
            for raw_key, kind in zip(raw_keys, kinds):
                values.zrange(raw_key, 0, -1) if kind == b"zset" else values.get(raw_key)
            found = values.execute()
        items = {raw_key.decode()[len(store.prefix):]: sorted(value) if kind == b"zset" else value
                 for raw_key, kind, value in zip(raw_keys, kinds, found)}
    return {key: value for key, value in items.items()
            if not key.startswith(CHANGED_BY_ANY_REQUEST)}
