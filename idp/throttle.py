"""Counting failed sign-ins, and what they lead to (NIST SP 800-63B 5.2.2, OWASP ASVS 5 V6.3).

Per account (keyed by organisation and username, so an unknown username behaves exactly like a
known one): the first ``IDP_LOCKOUT_DELAY_AFTER`` (5) failures cost nothing; after that each
attempt must wait 5, 10, 20, 40, 80 seconds after the previous one; from ``IDP_LOCKOUT_AFTER``
(10) failures the account is locked for ``IDP_LOCKOUT_SECONDS`` (15 minutes) after each failure;
at ``IDP_LOCKOUT_PERMANENT_AFTER`` (100) consecutive failures it stays locked (in the database)
until the helpdesk unlocks it. A success starts the count again. A refused attempt is answered
exactly like a wrong password, and still costs a password hash (no oracle).

Per client IP and per organisation: failures in a sliding window of ``IDP_THROTTLE_WINDOW``
seconds; over the limit every sign-in attempt from there gets 429 *before* any hashing.

Self-service requests that send an e-mail (forgotten password, a new activation link) have
their own sliding window, ``IDP_SELFSERVICE_WINDOW``: per client IP (over the limit: 429) and
per account as typed (over the limit: the same answer, but no e-mail), so nobody can flood a
parent's mailbox and an unknown account counts exactly like a known one.

All counters are single atomic store operations (Redis INCR in production), so parallel
attempts are all counted.
"""

import hashlib
from typing import NamedTuple

from flask import current_app

from idp import clock
from idp.extensions import store

#: Consecutive failures are remembered this long without a new one.
FAILURE_MEMORY = 30 * 24 * 3600
LOCKED, DELAYED = "locked", "delayed"
FIRST_DELAY = 5
#: Waits are measured with idp.clock; the store only forgets them a while after they ended.
WAIT_SLACK = 60


def _account_key(org_code: str, username: str) -> str:
    digest = hashlib.sha256(f"{org_code}\0{username}".encode()).hexdigest()[:32]
    return f"throttle:account:{digest}"


def _delay(failures: int) -> int:
    """How long the next attempt must wait after ``failures`` consecutive failures."""
    config = current_app.config
    if failures >= config["IDP_LOCKOUT_AFTER"]:
        return config["IDP_LOCKOUT_SECONDS"]
    if failures >= config["IDP_LOCKOUT_DELAY_AFTER"]:
        return FIRST_DELAY * 2 ** (failures - config["IDP_LOCKOUT_DELAY_AFTER"])
    return 0


# --- per account -------------------------------------------------------------------------------
def account_refusal(org_code: str, username: str, account, failures: int | None = None
                    ) -> str | None:
    """Why this attempt may not be checked at all (LOCKED, DELAYED), or None to go ahead.
    ``failures``: the consecutive failures as read by ``sign_in_counts`` (else read here)."""
    if account is not None and account.locked_at is not None:
        return LOCKED
    key = _account_key(org_code, username)
    if failures is None:
        failures = _failures(key)
    wait = _delay(failures)
    if not wait:
        return None
    # Past the free attempts only one attempt per waiting time is checked, however many
    # arrive at once: the first to claim the next wait goes ahead, the rest are refused.
    now = clock.now()
    if store().claim_until(key + ":wait", now, now + wait, wait + WAIT_SLACK):
        return None
    return LOCKED if failures >= current_app.config["IDP_LOCKOUT_AFTER"] else DELAYED


def _failures(key: str) -> int:
    raw = store().get(key + ":failures")
    return int(raw) if raw else 0


def record_failure(org_code: str, username: str) -> int:
    """Count a failed attempt; returns the consecutive failures so far."""
    key = _account_key(org_code, username)
    failures = store().incr(key + ":failures", FAILURE_MEMORY)
    wait = _delay(failures)
    if wait:
        store().set(key + ":wait", repr(clock.now() + wait), wait + WAIT_SLACK)
    return failures


def record_success(org_code: str, username: str, counts: "SignInCounts | None" = None) -> None:
    """Start the account's count again. ``counts``: what this sign-in read (``sign_in_counts``):
    with no failures and no wait then there is nothing to clear (one round trip less). Failures
    counted since that read stay counted: stricter, never laxer, than clearing them."""
    if counts is not None and not counts.failures and not counts.waiting:
        return
    key = _account_key(org_code, username)
    store().delete(key + ":failures", key + ":wait")


def account_state(org_code: str, username: str) -> tuple[int, float | None]:
    """Consecutive failures, and until when the next attempt must wait (None: it need not):
    what the console shows staff helping a parent."""
    key = _account_key(org_code, username)
    raw = store().get(key + ":wait")
    until = float(raw) if raw else None
    return _failures(key), until if until is not None and until > clock.now() else None


def forget(org_code: str, username: str) -> None:
    """The helpdesk unlocked the account: start from zero."""
    record_success(org_code, username)


# --- per client IP and per organisation: sliding windows -----------------------------------------
def _window_count(name: str, window: int | None = None) -> float:
    return _window_counts([name], window)[0][0]


def _window_counts(names: list[str], window: int | None = None, also: tuple[str, ...] = ()
                   ) -> tuple[list[float], list[bytes | None]]:
    """Events in the last window for each name, estimated from this and the previous fixed
    window; all read in one store call (a sign-in checks two names), with the keys ``also``
    (their values come second)."""
    window = window or current_app.config["IDP_THROTTLE_WINDOW"]
    now = clock.now()
    index, into = divmod(now, window)
    keys = [f"throttle:{name}:{int(index) - back}" for name in names for back in (0, 1)]
    values = store().get_many(keys + list(also))
    weight = 1 - into / window
    counted = values[:len(keys)]
    return [int(current or 0) + int(previous or 0) * weight
            for current, previous in zip(counted[::2], counted[1::2])], values[len(keys):]


def _count(name: str, window: int | None = None) -> None:
    window = window or current_app.config["IDP_THROTTLE_WINDOW"]
    index = int(clock.now() // window)
    store().incr(f"throttle:{name}:{index}", 2 * window)


def _ip_name(ip: str) -> str:
    return "ip:" + hashlib.sha256(ip.encode()).hexdigest()[:24]


class SignInCounts(NamedTuple):
    """What a sign-in's checks read of the store, in one call (``sign_in_counts``)."""

    from_ip: float
    in_org: float
    #: The account as typed: its consecutive failures, and whether a wait was claimed.
    failures: int
    waiting: bool


def sign_in_counts(ip: str, org_code: str, username: str) -> SignInCounts:
    """The client IP's and the organisation's windows and the account's failures and wait, in
    one store call (an MGET): ``source_refusal`` and then ``account_refusal`` decide on them in
    that order, as before; ``record_success`` clears what was there."""
    key = _account_key(org_code, username)
    (from_ip, in_org), (failures, wait) = _window_counts(
        [_ip_name(ip), f"org:{org_code}"], also=(key + ":failures", key + ":wait"))
    return SignInCounts(from_ip, in_org, int(failures) if failures else 0, wait is not None)


def source_refusal(ip: str, org_code: str, counts: SignInCounts | None = None) -> str | None:
    """"ip" or "organisation" when too many sign-ins failed from there lately, else None.
    ``counts``: as read by ``sign_in_counts`` (else the windows are read here)."""
    config = current_app.config
    if counts is None:
        from_ip, in_org = _window_counts([_ip_name(ip), f"org:{org_code}"])[0]
    else:
        from_ip, in_org = counts.from_ip, counts.in_org
    if from_ip >= config["IDP_THROTTLE_IP_FAILURES"]:
        return "ip"
    if in_org >= config["IDP_THROTTLE_ORG_FAILURES"]:
        return "organisation"
    return None


def record_source_failure(ip: str, org_code: str) -> None:
    _count(_ip_name(ip))
    _count(f"org:{org_code}")


def retry_after(window: int | None = None) -> int:
    """Seconds a throttled client should wait: the rest of the window at most."""
    window = window or current_app.config["IDP_THROTTLE_WINDOW"]
    return max(1, int(window - clock.now() % window))


# --- self-service requests that send an e-mail --------------------------------------------------
IP, ACCOUNT = "ip", "account"


def self_service_refusal(kind: str, ip: str, account_key: str) -> str | None:
    """Count one request of ``kind`` ("reset", "activation"); IP or ACCOUNT when there were too
    many from this client IP or for this account lately (then it is not counted), else None.
    ``account_key`` is what the parent typed (organisation and username or e-mail address), or
    the link's hash: never whether it exists."""
    config = current_app.config
    window = config["IDP_SELFSERVICE_WINDOW"]
    ip_name = f"self:{kind}:" + _ip_name(ip)
    account_name = f"self:{kind}:account:" + hashlib.sha256(account_key.encode()).hexdigest()[:32]
    if _window_count(ip_name, window) >= config["IDP_SELFSERVICE_IP_REQUESTS"]:
        return IP
    _count(ip_name, window)
    if _window_count(account_name, window) >= config["IDP_SELFSERVICE_ACCOUNT_REQUESTS"]:
        return ACCOUNT
    _count(account_name, window)
    return None
