"""``wsgi:app`` in the checkout, as before: the entry point itself is ``idp/wsgi.py``."""

from idp.wsgi import app  # noqa: F401
