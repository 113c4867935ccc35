"""Work every test's new app would otherwise repeat, done once per test process.

Each test gets an app of its own (tests/conftest.py), and each new app compiled again what the
last one had compiled from the very same input. Each cache below is keyed by everything the
result depends on, so a different input (a changed template, another URL rule, another key) is
worked out afresh; nothing here is used outside the tests.
"""

import functools

import flask
from cryptography.hazmat.primitives import serialization
from jinja2.bccache import BytecodeCache
from joserfc._rfc7517 import pem as joserfc_pem
from werkzeug.routing import Rule


class _CompiledTemplates(BytecodeCache):
    """Every new app compiled every template it rendered again (12 % of the CPU time of
    tests/test_sign_in.py). Jinja keys the compiled code by template and checks it against the
    template's source, so a changed template is compiled afresh."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_compile_builder = Rule._compile_builder
_builders: dict[tuple, object] = {}


def _compile_builder_once(self, append_unknown=True):
    """Werkzeug writes, parses and compiles Python source for each URL rule's URL builder when
    the rule is added to an app: 60 % of ``create_app()``'s time, ~1,600 rules a test's app.
    Without defaults the builder depends only on the rule's text and its parsed parts (the
    function binds to the rule it builds for; its converters are looked up on that rule when it
    runs); a rule with defaults bakes them in, so it is compiled as before."""
    if self.defaults:
        return _compile_builder(self, append_unknown)
    key = (self.rule, tuple(self._trace), append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


# The app keeps its signing keys once loaded (idp.keys), but every test starts without that
# cache, and cryptography checks an RSA private key as it loads it: ~25 ms, once or twice a
# test. The same PEM gives the same key (immutable); one it refuses raises each time (exceptions
# are not cached). Checked, not assumed: were joserfc to stop calling cryptography's loader by
# this name, the cache would silently do nothing.
assert joserfc_pem.load_pem_private_key is serialization.load_pem_private_key, "joserfc changed"
_load_pem_private_key = functools.cache(serialization.load_pem_private_key)


def install() -> None:
    flask.Flask.jinja_options = {**flask.Flask.jinja_options,
                                 "bytecode_cache": _CompiledTemplates()}
    Rule._compile_builder = _compile_builder_once
    joserfc_pem.load_pem_private_key = _load_pem_private_key
