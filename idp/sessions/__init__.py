"""Sessions: how long a parent stays signed in, and who is told when that ends.

    signin       the sign-in session: start, use, idle/absolute expiry, end (one place)
    backchannel  back-channel logout: queue, logout token, delivery with retries
    browser      server-side browser sessions (the cookie holds an opaque id)

Callers use the sign-in session through this package (``sessions.start``,
``sessions.current``, ``sessions.end_current``); ``signin.end`` itself is the package's own.
"""

from idp.sessions.signin import (
    ADMIN,
    LOGOUT,
    add_client,
    count,
    current,
    end_all_for,
    end_current,
    grant_is_live,
    live_for,
    load,
    prove_code,
    start,
    sweep_expired,
    use,
)

__all__ = [
    "ADMIN", "LOGOUT", "add_client", "count", "current", "end_all_for", "end_current",
    "grant_is_live", "live_for", "load", "prove_code", "start", "sweep_expired", "use",
]
