"""The one time source of the service. Tests freeze and move it; nothing else calls time.time()."""

import time

_frozen: float | None = None


def now() -> float:
    """Seconds since the epoch, as a float."""
    return _frozen if _frozen is not None else time.time()


def timestamp() -> int:
    """Whole seconds since the epoch: what tokens and database rows carry."""
    return int(now())


def freeze(at: float) -> None:
    global _frozen
    _frozen = at


def advance(seconds: float) -> None:
    freeze(now() + seconds)


def unfreeze() -> None:
    global _frozen
    _frozen = None
