"""Administrators' changes to the signing keys: rotate, revoke, import. Each is one transaction
that carries its own audit event (idp.audit), so a change and its record commit together.

    rotate   next -> active -> retired, and a new next key; only once the next key is ready
             (published for ``key_schedule.publication_lead``), otherwise refused, unchanged
    revoke   any state -> revoked, out of the JWKS at once; a revoked active key is replaced by
             the next key straight away (it is already published), and a new next key is made
    import   a PEM key (idp.keys.pem_import) becomes the next key; the unused next key it replaces
             is retired (it never signed, so it leaves the JWKS at once)

State changes are conditional UPDATEs (``WHERE state = <what we read>``) on top of the database's
one-active/one-next-per-algorithm indexes: two administrators racing change the keys once, and
the loser is told to run the command again.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from idp import audit, clock, keys
from idp.keys import schedule as key_schedule
from idp.extensions import db
from idp.models.signing_key import ACTIVE, NEXT, RETIRED, REVOKED, SigningKey

CONCURRENT_CHANGE = ("the signing keys changed while this command ran (another administrator or "
                     "job at the same moment?); nothing was changed by this one. Run it again.")


class Refused(Exception):
    """The change was not made; the message says why and what to do (in English, for the
    commands); ``reason`` says it for a page in the console's language."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


#: Refused's reasons.
CONCURRENT, UNKNOWN, ALREADY_REVOKED, WAS_REVOKED, ALREADY_HERE = (
    "concurrent", "unknown", "already_revoked", "was_revoked", "already_here")


@dataclass(frozen=True)
class Rotated:
    alg: str
    retired_kid: str
    active_kid: str
    next_kid: str
    retired_removed_at: int


@dataclass(frozen=True)
class NotDue:
    alg: str
    active_kid: str
    active_since: int


@dataclass(frozen=True)
class NotReady:
    """The next key has not been published long enough; nothing changed for this algorithm."""
    alg: str
    next_kid: str
    published_at: int
    ready_at: int


@dataclass(frozen=True)
class Conflict:
    """Someone else changed this algorithm's keys at the same moment; nothing changed here."""
    alg: str
    message: str
    reason: str = CONCURRENT


@dataclass(frozen=True)
class Revoked:
    kid: str
    alg: str
    previous_state: str
    active_kid: str  # what signs for this algorithm now
    #: False when a revoked active key was replaced by a next key published too recently:
    #: relying parties may then meet its kid before their cached JWKS has it, and refetch.
    replacement_was_ready: bool = True
    #: False when the store could not be told: other processes then stop using the key within
    #: IDP_KEYS_CACHE_TTL (when they next read the database) instead of within a second.
    announced: bool = True


def _set_state(key: SigningKey, expected: str, **values) -> None:
    """Move ``key`` out of ``expected``; Refused if someone else moved it first."""
    result = db.session.execute(
        update(SigningKey).where(SigningKey.id == key.id, SigningKey.state == expected)
        .values(**values)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Refused(CONCURRENT_CHANGE, CONCURRENT)


def _commit() -> bool:
    """Commit, and tell every process; False if only the database has it (see keys.changed)."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Refused(CONCURRENT_CHANGE, CONCURRENT) from None
    return keys.changed()


def rotate(actor: str, algs=keys.SUPPORTED_ALGS, if_older_than: int | None = None) -> list:
    """Rotate each algorithm in ``algs``, each in its own transaction; one Rotated, NotDue,
    NotReady or Conflict per algorithm.

    With ``if_older_than`` (seconds), an algorithm whose active key is younger is left alone:
    what a daily scheduled job wants.
    """
    keys.check_kek()
    keys.make_missing_keys(actor, "rotate")  # a next key for every algorithm, from now on
    _commit()
    outcomes = []
    for alg in algs:
        try:
            outcomes.append(_rotate(actor, alg, if_older_than))
        except Refused as refused:
            outcomes.append(Conflict(alg, str(refused), refused.reason))
    return outcomes


def _rotate(actor: str, alg: str, if_older_than: int | None):
    config, now = current_app.config, clock.timestamp()
    active, waiting = keys.key_in_state(alg, ACTIVE), keys.key_in_state(alg, NEXT)
    if if_older_than is not None and key_schedule.age(active, now) < if_older_than:
        return NotDue(alg, active.kid, active.activated_at or active.created_at)
    ready = key_schedule.ready_at(waiting, config)
    if now < ready:
        return NotReady(alg, waiting.kid, waiting.created_at, ready)
    _set_state(active, ACTIVE, state=RETIRED, retired_at=now)
    _set_state(waiting, NEXT, state=ACTIVE, activated_at=now)
    new = keys.add_key(keys.generate(alg), alg, NEXT)
    removed = now + key_schedule.retention(config)
    audit.record(actor, "signing_key.rotate", waiting.kid, alg=alg, retired=active.kid,
                 next=new.kid, retired_removed_at=removed)
    _commit()
    return Rotated(alg, active.kid, waiting.kid, new.kid, removed)


def find(kid: str) -> SigningKey | None:
    return db.session.scalar(select(SigningKey).where(SigningKey.kid == kid))


def revoke(actor: str, kid: str) -> Revoked:
    """Emergency: the key leaves the JWKS and is no longer accepted for anything we verify.

    This process stops using it at once, every other worker and replica within about a second
    (idp.keys.version), or within ``IDP_KEYS_CACHE_TTL`` if the store could not be told.
    """
    keys.check_kek()
    key = find(kid)
    if key is None:
        raise Refused(f"there is no signing key with kid {kid!r} (see `idp keys list`)", UNKNOWN)
    if key.state == REVOKED:
        raise Refused(f"key {kid} was already revoked", ALREADY_REVOKED)
    previous, alg, now = key.state, key.alg, clock.timestamp()
    waiting = keys.key_in_state(alg, NEXT)
    ready = waiting is not None and now >= key_schedule.ready_at(waiting, current_app.config)
    _set_state(key, previous, state=REVOKED, revoked_at=now)
    audit.record(actor, "signing_key.revoke", kid, alg=alg, previous_state=previous)
    keys.make_missing_keys(actor, f"revoke of {kid}")
    announced = _commit()
    return Revoked(kid, alg, previous, keys.key_in_state(alg, ACTIVE).kid,
                   replacement_was_ready=previous != ACTIVE or ready, announced=announced)


def import_key(actor: str, private_key, alg: str, source: str) -> tuple[SigningKey, str | None]:
    """Store a key read by idp.keys.pem_import as the next key; returns it and the kid it replaced."""
    keys.check_kek()
    kid = private_key.thumbprint()
    existing = find(kid)
    if existing is not None:
        if existing.state == REVOKED:
            raise Refused(f"this key (kid {kid}) was revoked; a revoked key is never used again",
                          WAS_REVOKED)
        raise Refused(f"this key is already here (kid {kid}, {existing.state})", ALREADY_HERE)
    replaced = keys.key_in_state(alg, NEXT)
    if replaced is not None:
        _set_state(replaced, NEXT, state=RETIRED, retired_at=clock.timestamp())
        audit.record(actor, "signing_key.retire", replaced.kid, alg=alg,
                     reason=f"replaced by imported key {kid}")
    record = keys.add_key(private_key, alg, NEXT)
    audit.record(actor, "signing_key.import", kid, alg=alg, source=source,
                 replaced=replaced.kid if replaced else None)
    _commit()
    return record, replaced.kid if replaced else None
