"""Work that runs after the answer has been sent: the e-mails a parent asked for without signing
in. The asker cannot time it, so the answer's time says nothing about what exists.

The WSGI server closes the response once the body is written; the job runs then, in an app
context of its own (the request's is gone). A failure is logged: the parent has the answer.
"""

import logging

from flask import Response, current_app, make_response

log = logging.getLogger(__name__)


def run_after(answer, job) -> Response:
    """``answer`` (anything a view may return) as a response that runs ``job`` once sent."""
    response = make_response(answer)
    if job is None:
        return response
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            try:
                job()
            except Exception:
                log.exception("work after the answer failed")

    response.call_on_close(run)
    return response
