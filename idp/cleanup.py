"""The janitor: removes rows that can no longer matter, so the token tables stop growing.

Without it ``authorization_code``, ``refresh_token``, ``grant``, ``activation`` and
``account_link`` keep one row per code, refresh, sign-in, invitation and e-mailed link forever.
The worker runs ``run_if_due`` every round; it does the work at most once per
``IDP_CLEANUP_INTERVAL`` across every worker (an atomic claim in the store). ``idp cleanup``
runs ``run`` at once, for operators and cron.

What may go, and when (``now`` is the service's clock, every time in whole seconds):

- an **authorization code** ``retention(config)`` after it expired, used or not. A code is
  redeemed only before its ``expires_at``, so after that it is refused anyway.
- a **refresh token** ``retention(config)`` after it expired. A *used* one must stay until then:
  presenting it again is reuse detection, which revokes the whole grant.
- a **grant** once none of its codes and refresh tokens is left. Access tokens (and ID tokens)
  are made only when a code or refresh token of the grant is redeemed, before that row's
  ``expires_at``, and live ``IDP_ACCESS_TOKEN_TTL`` (``IDP_ID_TOKEN_TTL``) from then; userinfo
  and introspection look their grant up. ``retention`` is the longer of the two lifetimes plus
  ``SLACK``, so once the last code and refresh token of a grant are gone, every token the
  grant could have issued has expired: a grant is never removed under a token that still works.
- an **activation** ``IDP_CLEANUP_KEEP_ACTIVATIONS`` after its link expired. Until then a parent
  opening an old link reads *expired* or *already used* (410), afterwards *not valid* (404):
  the row is only there for that message. A used link stopped working before it expired, so it
  is kept at least as long after its use.
- an **account link** (a new password, a new app) the same ``IDP_CLEANUP_KEEP_ACTIVATIONS``
  after it expired, for the same message, with one exception: an *unused* new-app link of an
  account that still has no app stays. It is what tells the sign-in page that the helpdesk
  reset this account's app (idp.flows.login ``awaits_new_authenticator_link``): without it the
  password alone would link a new app at sign-in. It goes once an app is linked again.
- ``audit_event`` rows are never removed: that is the audit log.

Deletes are batches of ``IDP_CLEANUP_BATCH`` rows, each ``DELETE ... WHERE id IN (SELECT id ...
LIMIT n)`` (grants: a window of n ids) in its own transaction, so a backlog never holds a lock
for long, on SQLite or on PostgreSQL. Two runs at once are harmless: a row is deleted once, and counted by the run that
deleted it (PostgreSQL re-checks a row that another transaction deleted, and skips it).
"""

import logging

from flask import current_app
from sqlalchemy import delete, exists, func, select

from idp import clock, metrics
from idp.extensions import db, store
from idp.models import (Account, AccountLink, Activation, AuthorizationCode, Grant,
                        RefreshToken)
from idp.models.account_link import NEW_AUTHENTICATOR

log = logging.getLogger(__name__)

#: Beyond a token's lifetime: clock differences between hosts and a token request still running
#: (gunicorn kills a request after 30 s). It also keeps a row for a request that found it just
#: before it expired and is about to mark it used: had the row gone in between, that request
#: would take it for a reuse and revoke the grant.
SLACK = 300
#: The claim that lets one worker in per interval (idp.store ``claim_until``).
CLAIM_KEY = "cleanup:next-run"


def retention(config) -> int:
    """How long after it expired a code or refresh token is kept (see the module docstring)."""
    return max(config["IDP_ACCESS_TOKEN_TTL"], config["IDP_ID_TOKEN_TTL"]) + SLACK


def _delete_in_batches(model, conditions, batch: int) -> int:
    """Delete the rows of ``model`` that meet ``conditions``, ``batch`` at a time."""
    removed = 0
    while True:
        # The subquery is its own SELECT of the table, not correlated to the DELETE; with the
        # expiry index it finds a batch without reading the rest of the table.
        ids = select(model.id).where(*conditions).limit(batch).correlate(None)
        deleted = db.session.execute(
            delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()  # per batch: locks are held for one batch only
        removed += deleted
        if deleted < batch:  # fewer than asked: no more (or another run took them)
            return removed


def _delete_grants_in_batches(expired_before: int, batch: int) -> int:
    """Delete the grants that have no code and no refresh token left.

    What marks them is a row that is *not* there, which no index points at. Asking for "the
    first ``batch`` such grants" again and again would read every grant still in use once per
    batch (quadratic on a backlog); instead the grants are walked in id order, a window of
    ``batch`` at a time, each window deleted from in its own transaction: linear, and each
    NOT EXISTS can be an index lookup (``grant_id`` is indexed on both tables).
    """
    removed, after = 0, 0
    old = Grant.created_at < expired_before
    while True:
        window = select(Grant.id).where(Grant.id > after, old).order_by(Grant.id).limit(batch)
        window = window.subquery()
        first, last, size = db.session.execute(
            select(func.min(window.c.id), func.max(window.c.id), func.count())
        ).one()
        if not size:
            db.session.commit()
            return removed
        removed += db.session.execute(
            delete(Grant)
            .where(
                Grant.id.between(first, last),
                # Implied by what follows today (a grant is stored with its first code in one
                # transaction, and that code expires after the grant was made); kept so a young
                # grant is safe even if some later path stores it before its first code.
                old,
                ~exists().where(AuthorizationCode.grant_id == Grant.id),
                ~exists().where(RefreshToken.grant_id == Grant.id),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if size < batch:
            return removed
        after = last


def _blocks_enrolment_at_sign_in():
    """An unused new-app link of an account without an app: the helpdesk reset that app, and
    only an e-mailed link may link the next one (see the module docstring)."""
    return ((AccountLink.purpose == NEW_AUTHENTICATOR) & AccountLink.used_at.is_(None)
            & exists().where(Account.id == AccountLink.account_id,
                             Account.totp_secret_encrypted.is_(None)))


def run() -> dict[str, int]:
    """Remove now every row that may go; returns the rows removed per table."""
    config = current_app.config
    batch = max(1, config["IDP_CLEANUP_BATCH"])
    now = clock.timestamp()
    expired_before = now - retention(config)
    keep_activations_before = now - config["IDP_CLEANUP_KEEP_ACTIVATIONS"]
    removed = {}  # in this order: a grant goes in the same run as its last code and token
    removed["authorization_code"] = _delete_in_batches(
        AuthorizationCode, [AuthorizationCode.expires_at < expired_before], batch)
    removed["refresh_token"] = _delete_in_batches(
        RefreshToken, [RefreshToken.expires_at < expired_before], batch)
    removed["grant"] = _delete_grants_in_batches(expired_before, batch)
    removed["activation"] = _delete_in_batches(
        Activation, [Activation.expires_at < keep_activations_before], batch)
    removed["account_link"] = _delete_in_batches(
        AccountLink, [AccountLink.expires_at < keep_activations_before,
                      ~_blocks_enrolment_at_sign_in()], batch)
    for table, count in removed.items():
        if count:
            metrics.ROWS_REMOVED.labels(table).inc(count)
    if any(removed.values()):  # table names and counts only: nothing of a row is logged
        log.info("cleanup removed %s",
                 ", ".join(f"{count} {table}" for table, count in removed.items() if count))
    return removed


def run_if_due() -> dict[str, int] | None:
    """``run``, if no worker has done so within ``IDP_CLEANUP_INTERVAL``; else None."""
    interval = current_app.config["IDP_CLEANUP_INTERVAL"]
    now = clock.now()
    # Atomic: of all workers, only the first after the previous claim's time has passed gets it.
    # Claimed before the work, so a run that fails waits for the next interval, not the next
    # round (a broken database is not hit every few seconds).
    if not store().claim_until(CLAIM_KEY, now, now + interval, interval + 60):
        return None
    return run()
