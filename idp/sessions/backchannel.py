"""OpenID Connect Back-Channel Logout 1.0: tell relying parties that a session ended.

When a session ends (``signin.end``), its record moves, in the same atomic store step that
takes it, to the queue of ended sessions (``queue_ended``): from then on the logouts it owes are
durable, whatever fails next. The worker (``deliver_due``) turns each ended session into one
delivery per client that took part and registered a ``backchannel_logout_uri`` (again one atomic
step, done once), signs a logout token and POSTs it; a failure is retried with growing pauses for
``IDP_BACKCHANNEL_RETRY_FOR`` seconds and then given up and logged. Nothing here ever blocks or
fails a logout.

Both queues are store schedules (member: the sid, or the logout token's ``jti``; due: the next
attempt) plus one record per member, so several workers on several replicas share them safely.
"""

import json
import logging
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from flask import current_app
from joserfc import jwt
from sqlalchemy import select

from idp import clock, crypto, keys, metrics
from idp.extensions import db, store
from idp.models import Client

log = logging.getLogger(__name__)

QUEUE = "backchannel-queue"
ITEM = "backchannel:"
ENDED_QUEUE = "backchannel-ended-queue"
ENDED = "backchannel-ended:"
EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: A worker holds claimed deliveries this long; enough for a round of slow endpoints.
LEASE = 120
FIRST_PAUSE, LONGEST_PAUSE = 5, 300
PARALLEL_DELIVERIES = 8


def _ttl() -> int:
    return current_app.config["IDP_BACKCHANNEL_RETRY_FOR"] + 2 * LEASE


def queue_ended(record_key: str, sid: str, unschedule: list[tuple[str, str]]) -> bytes | None:
    """Take the session record under ``record_key`` (and its ``unschedule`` entries) and queue
    it as ended, as one atomic step; returns the record, or None if someone else took it."""
    return store().move_and_schedule(record_key, ENDED + sid, _ttl(), unschedule,
                                     [(ENDED_QUEUE, sid, clock.now())])


def _deliveries_for_ended(limit: int) -> None:
    """Each due ended session becomes a delivery per client with a back-channel logout URI,
    atomically and only once (``replace``), however many workers try."""
    for sid in store().claim_due(ENDED_QUEUE, clock.now(), LEASE, limit):
        raw = store().get(ENDED + sid)
        if raw is None:
            store().unschedule(ENDED_QUEUE, sid)
            continue
        ended = json.loads(raw)
        items = []
        for client_id in _listening(ended["clients"]):
            item = {"jti": crypto.new_token(16), "client_id": client_id, "sub": ended["subject"],
                    "sid": sid, "first_at": clock.now(), "attempts": 0}
            items.append((ITEM + item["jti"], json.dumps(item), _ttl(), QUEUE, item["jti"],
                          clock.now()))
        store().replace(ENDED + sid, ENDED_QUEUE, sid, items)


def _listening(client_ids: list[str]) -> list[str]:
    """Those of ``client_ids`` that registered a back-channel logout URI."""
    if not client_ids:
        return []
    return list(db.session.scalars(
        select(Client.client_id)
        .where(Client.client_id.in_(client_ids), Client.backchannel_logout_uri.isnot(None))
    ))


def logout_token(client: Client, item: dict) -> str:
    """Back-Channel Logout 1.0 section 2.4, signed like the client's ID tokens (no nonce)."""
    alg = client.id_token_signed_response_alg
    key = keys.signing_key(alg)
    now = clock.timestamp()
    claims = {
        "iss": current_app.config["IDP_ISSUER"],
        "aud": client.client_id,
        "iat": now,
        "exp": now + current_app.config["IDP_LOGOUT_TOKEN_TTL"],
        "jti": item["jti"],
        "sub": item["sub"],
        "sid": item["sid"],
        "events": {EVENT: {}},
    }
    header = {"typ": "logout+jwt", "alg": alg, "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[alg])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer we do not follow (section 2.5); it is a failure


_opener = urllib.request.build_opener(_NoRedirects)


def post(uri: str, token: str, timeout: float) -> str | None:
    """POST the logout token (section 2.5); None on success, else what went wrong."""
    request = urllib.request.Request(
        uri,
        data=urlencode({"logout_token": token}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"{type(error).__name__}: {getattr(error, 'reason', error)}"


def deliver_due(limit: int = 50) -> tuple[int, int]:
    """Deliver the logouts that are due; returns (delivered, failed)."""
    _deliveries_for_ended(limit)
    jobs = []
    for jti in store().claim_due(QUEUE, clock.now(), LEASE, limit):
        raw = store().get(ITEM + jti)
        item = json.loads(raw) if raw else None
        client = item and db.session.scalar(select(Client).where(Client.client_id == item["client_id"]))
        if client is None or not client.backchannel_logout_uri:
            _forget(jti)
            continue
        jobs.append((item, client.backchannel_logout_uri, logout_token(client, item)))
    if not jobs:
        return 0, 0
    timeout = current_app.config["IDP_BACKCHANNEL_TIMEOUT"]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_DELIVERIES, len(jobs))) as pool:
        problems = list(pool.map(lambda job: post(job[1], job[2], timeout), jobs))
    failed = 0
    for (item, uri, _), problem in zip(jobs, problems):
        if problem is None:
            metrics.BACKCHANNEL_LOGOUTS.labels("delivered").inc()
            _forget(item["jti"])
        else:
            metrics.BACKCHANNEL_LOGOUTS.labels("failed").inc()
            failed += 1
            _retry_later(item, uri, problem)
    return len(jobs) - failed, failed


def _forget(jti: str) -> None:
    store().delete(ITEM + jti)
    store().unschedule(QUEUE, jti)


def _retry_later(item: dict, uri: str, problem: str) -> None:
    item["attempts"] += 1
    pause = min(FIRST_PAUSE * 2 ** (item["attempts"] - 1), LONGEST_PAUSE)
    give_up_at = item["first_at"] + current_app.config["IDP_BACKCHANNEL_RETRY_FOR"]
    if clock.now() + pause > give_up_at:
        log.error("back-channel logout to %s (client %s) given up after %d attempts: %s",
                  uri, item["client_id"], item["attempts"], problem)
        metrics.BACKCHANNEL_LOGOUTS.labels("given_up").inc()
        _forget(item["jti"])
        return
    log.warning("back-channel logout to %s (client %s) failed, attempt %d: %s; retry in %d s",
                uri, item["client_id"], item["attempts"], problem, pause)
    store().set(ITEM + item["jti"], json.dumps(item), int(give_up_at - clock.now()) + 2 * LEASE)
    store().schedule(QUEUE, item["jti"], clock.now() + pause)
