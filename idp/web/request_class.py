"""The request class: Flask's, except for a query string with raw bytes outside ASCII.

RFC 3986 allows none there. gunicorn refuses them, but werkzeug's development server (``flask
run``) and other WSGI servers pass them on, and werkzeug then fails decoding them: a 500 wherever
``args`` or the query string is read, the error page included. They are percent-encoded on
arrival instead, so they mean what the same bytes percent-encoded mean: valid UTF-8 is read as
such, anything else stays percent-encoded.

A file upload (idp.web.limits.UPLOADS) gets its larger body limit here, as the request is made:
CSRF protection reads the form before any view or request hook of ours could raise it.
"""

from urllib.parse import quote_from_bytes

import flask

from idp.web.limits import upload_limit

#: Kept as they are: every visible ASCII character, "%" of existing escapes included.
_VISIBLE_ASCII = "".join(map(chr, range(0x21, 0x7F)))


class Request(flask.Request):
    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        if not self.query_string.isascii():
            self.query_string = quote_from_bytes(self.query_string, safe=_VISIBLE_ASCII).encode()
        limit = upload_limit(self)
        if limit is not None:  # the import page's file (CSRF protection reads the form first)
            self.max_content_length = limit
