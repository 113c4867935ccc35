"""The request class: Flask's, except for a query string with raw bytes outside ASCII.

RFC 3986 allows none there. gunicorn refuses them, but werkzeug's development server (``flask
run``) and other WSGI servers pass them on, and werkzeug then fails decoding them: a 500 wherever
``args`` or the query string is read, the error page included. They are percent-encoded on
arrival instead, so they mean what the same bytes percent-encoded mean: valid UTF-8 is read as
such, anything else stays percent-encoded.
"""

from urllib.parse import quote_from_bytes

import flask

#: Kept as they are: every visible ASCII character, "%" of existing escapes included.
_VISIBLE_ASCII = "".join(map(chr, range(0x21, 0x7F)))


class Request(flask.Request):
    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        if not self.query_string.isascii():
            self.query_string = quote_from_bytes(self.query_string, safe=_VISIBLE_ASCII).encode()
