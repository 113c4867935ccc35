"""The JSON log line's parts made more cheaply than before are the same as before: the time as
datetime writes it, the request id a UUID 4's hex, the fields of a request read once."""

import io
import json
import logging
import random
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

from idp import logs
from idp.logs import JsonFormatter
from idp.web.request_class import Request


def test_the_time_is_written_as_datetime_writes_it():
    rng = random.Random(16)
    stamps = [rng.uniform(0, 4e9) for _ in range(20000)]
    # Around a whole second and a millisecond: rounding to the microsecond may carry over.
    for whole in (0, 1_700_000_000, 1_799_999_999, 2_000_000_000.5):
        stamps += [whole + delta for delta in
                   (0, 1e-7, 4.9e-7, 5e-7, 5.1e-7, 0.0004995, 0.0005, 0.9994999, 0.9995,
                    0.9999994, 0.9999995, 0.99999949, 0.999999, 0.9999999)]
    stamps += [1_764_597_000 + n / 1000 for n in range(3000)]  # every millisecond of 3 s
    for stamp in stamps:
        expected = datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="milliseconds")
        assert logs._utc_time(stamp) == expected, stamp


def test_a_made_request_id_is_a_uuid4_in_hex():
    for _ in range(2000):
        made = logs.new_request_id()
        assert len(made) == 32 and made == made.lower()
        parsed = uuid.UUID(hex=made)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == made


def test_the_caller_s_request_id_is_kept_when_it_looks_like_one():
    assert logs.request_id_of({"HTTP_X_REQUEST_ID": "lb-7f3a.1"}) == "lb-7f3a.1"
    for bad in ("", "not one", "x" * 65, "é"):
        made = logs.request_id_of({"HTTP_X_REQUEST_ID": bad})
        assert made != bad and uuid.UUID(hex=made).version == 4
    assert uuid.UUID(hex=logs.request_id_of({})).version == 4


def line_of(record_fields=None, message="GET /x 200", level=logging.INFO, exc_info=None):
    record = logging.LogRecord("idp.request", level, __file__, 1, message, None, exc_info)
    if record_fields is not None:
        record.fields = record_fields
    return JsonFormatter().format(record)


def test_a_line_outside_a_request_is_one_json_object_in_a_fixed_order():
    text = line_of({"method": "GET", "route": "/x", "status": 200, "note": "café"})
    assert "café" in text  # not escaped: as before (ensure_ascii=False)
    assert list(json.loads(text)) == ["time", "level", "logger", "message", "method", "route",
                                      "status", "note"]
    assert list(json.loads(line_of())) == ["time", "level", "logger", "message"]
    odd = json.loads(line_of({"when": datetime(2026, 1, 2, tzinfo=timezone.utc)}))
    assert odd["when"] == "2026-01-02 00:00:00+00:00"  # default=str, as before


def test_a_line_in_a_request_names_its_client_read_once(app, monkeypatch):
    with app.test_request_context("/token", method="POST", headers={"X-Request-ID": "rid-9"},
                                  data={"client_id": "rp-1", "organisation": "PO2806"}):
        first = json.loads(line_of({"status": 400}))
        # Parsed for the first line only: the second would lose its fields on this error.
        monkeypatch.setattr(Request, "authorization", property(lambda self: 1 / 0))
        second = json.loads(line_of({"status": 400}))
    for line in (first, second):
        line.pop("time")
        assert line == {"level": "INFO", "logger": "idp.request", "message": "GET /x 200",
                        "request_id": "rid-9", "client_id": "rp-1", "org": "PO2806",
                        "status": 400}


class _PassEverything(logging.Filter):
    """A filter that lets every record through: its presence alone sends lines through logging."""

    def filter(self, record):
        return True


@contextmanager
def only_handler(handler: logging.Handler):
    """``handler`` alone on the root logger, as configure() leaves it in production."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers[:] = [handler]
    try:
        yield
    finally:
        root.handlers[:] = saved


def _request_lines(app, through_logging: bool) -> list[dict]:
    """The request lines of two requests (one outside a request context, as idp.web.documents
    writes it, one inside a relying party's token request), with the service's handler alone
    on the root logger, written directly or (with a filter on the way) through logging."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    request_log = logging.getLogger("idp.request")
    if through_logging:
        request_log.addFilter(_PassEverything())
    try:
        with only_handler(handler):
            assert logs._plain_json_handlers() == (None if through_logging else [handler])
            logs.request_line("HEAD", "/jwks", 200, 0.0, request_id="rid-1")
            with app.test_request_context("/token", method="POST",
                                          headers={"X-Request-ID": "rid-2"},
                                          data={"client_id": "dossier", "grant_type": "x"}):
                logs.request_line("POST", "/token", 400, 0.0)
    finally:
        request_log.filters.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for line in lines:
        assert line.pop("duration_ms") > 0 and line.pop("time")
    return lines


def test_the_request_line_written_directly_is_the_line_logging_writes(app):
    direct, through_logging = _request_lines(app, False), _request_lines(app, True)
    assert direct == through_logging == [
        {"level": "INFO", "logger": "idp.request", "message": "HEAD /jwks 200",
         "request_id": "rid-1", "method": "HEAD", "route": "/jwks", "status": 200},
        {"level": "INFO", "logger": "idp.request", "message": "POST /token 400",
         "request_id": "rid-2", "client_id": "dossier", "method": "POST", "route": "/token",
         "status": 400},
    ]


def test_any_other_handler_gets_the_request_line_as_a_record(caplog):
    with caplog.at_level(logging.INFO, logger="idp.request"):
        logs.request_line("GET", "/jwks", 200, 0.0, request_id="rid-3")
    [record] = [r for r in caplog.records if r.name == "idp.request"]
    assert record.getMessage() == "GET /jwks 200" and record.fields["request_id"] == "rid-3"


def test_a_failing_stream_is_reported_by_logging_not_raised(capsys):
    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("disk full")

    handler = logging.StreamHandler(Broken())
    handler.setFormatter(JsonFormatter())
    with only_handler(handler):
        logs.request_line("GET", "/jwks", 200, 0.0, request_id="rid-4")  # does not raise
    assert "disk full" in capsys.readouterr().err  # logging.raiseExceptions: its own report
