"""Many cases in one test (one app, one signed-in parent), each failure named by its case."""

from contextlib import contextmanager


@contextmanager
def case(name):
    try:
        yield
    except (AssertionError, KeyError) as failure:
        raise AssertionError(f"case {name!r}: {failure!r}") from failure
