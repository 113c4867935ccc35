"""The request class: Flask's, except for a query string with raw bytes outside ASCII.

RFC 3986 allows none there. gunicorn refuses them, but werkzeug's development server (``flask
run``) and other WSGI servers pass them on, and werkzeug then fails decoding them: a 500 wherever
``args`` or the query string is read, the error page included. They are percent-encoded on
arrival instead, so they mean what the same bytes percent-encoded mean: valid UTF-8 is read as
such, anything else stays percent-encoded.

A file upload (idp.web.limits.UPLOADS) gets its larger body limit here, as the request is made:
CSRF protection reads the form before any view or request hook of ours could raise it.

The request's id (for its log lines and ``X-Request-ID``) and its start time (for the line's
duration and the latency metric) are the request's own, not each set by a hook of its own.
"""

import time
from urllib.parse import quote_from_bytes

import flask
from werkzeug.utils import cached_property

from idp import logs
from idp.web.limits import upload_limit

#: Kept as they are: every visible ASCII character, "%" of existing escapes included.
_VISIBLE_ASCII = "".join(map(chr, range(0x21, 0x7F)))


class Request(flask.Request):
    def __init__(self, environ, *args, **kwargs):
        #: perf_counter() when the request arrived in Flask: its line's duration and its metric.
        self.started = time.perf_counter()
        super().__init__(environ, *args, **kwargs)
        if not self.query_string.isascii():
            self.query_string = quote_from_bytes(self.query_string, safe=_VISIBLE_ASCII).encode()
        limit = upload_limit(self)
        if limit is not None:  # the import page's file (CSRF protection reads the form first)
            self.max_content_length = limit

    @cached_property
    def request_id(self) -> str:
        """The caller's ``X-Request-ID`` when it looks like one, else a new one (idp.logs)."""
        return logs.request_id_of(self.environ)
