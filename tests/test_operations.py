"""What the platform sees: probes, metrics on their own port, and request ids in the logs."""

import io
import json
import logging

import pytest

from idp import create_app
from idp.extensions import db
from idp.logs import JsonFormatter
from tests import conftest
from tests.test_oidc_flow import sign_in_at

METRICS = {"base_url": "http://idp.test:9100"}


def sample(client, name: str, **labels) -> float:
    """The value of one metric sample, as Prometheus would scrape it (0 when absent)."""
    text = client.get("/metrics", **METRICS).get_data(as_text=True)
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in text.splitlines():
        metric, _, value = line.rpartition(" ")
        if metric == (f"{name}{{{wanted}}}" if labels else name):
            return float(value)
    return 0.0


def test_liveness_and_readiness(client):
    live, ready = client.get("/healthz"), client.get("/readyz")
    assert (live.status_code, live.get_data(as_text=True)) == (200, "ok\n")
    assert (ready.status_code, ready.get_data(as_text=True)) == (200, "ready\n")
    assert ready.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("backend", ["postgres"])
def test_not_ready_without_redis_and_no_detail_shown(app, tmp_path, caplog):
    broken = create_app({**conftest.BASE_SETTINGS, "IDP_INSTANCE_DIR": str(tmp_path),
                         "IDP_DATABASE_URL": app.config["IDP_DATABASE_URL"],
                         "IDP_REDIS_URL": "redis://127.0.0.1:1/0"})
    with caplog.at_level(logging.WARNING, logger="idp.web.health"):
        response = broken.test_client().get("/readyz")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "not ready\n")
    assert "not ready: ConnectionError" in caplog.text
    assert broken.test_client().get("/healthz").status_code == 200  # alive, only not ready
    broken.extensions["idp.store"].close()
    with broken.app_context():
        db.session.remove()
        db.engine.dispose()


def test_metrics_only_on_the_metrics_port(client):
    assert client.get("/metrics").status_code == 404
    scraped = client.get("/metrics", **METRICS)
    assert scraped.status_code == 200 and scraped.content_type.startswith("text/plain")
    assert "idp_active_sessions " in scraped.get_data(as_text=True)


def test_metrics_follow_what_happens(world, client):
    parent, rp = world
    before = {
        "sign_ins": sample(client, "idp_sign_ins_total", result="success"),
        "failures": sample(client, "idp_sign_ins_total", result="bad_credentials"),
        "code": sample(client, "idp_tokens_issued_total", grant="authorization_code"),
        "refresh": sample(client, "idp_tokens_issued_total", grant="refresh_token"),
        "invalid_grant": sample(client, "idp_token_errors_total", error="invalid_grant"),
        "logouts": sample(client, "idp_sessions_ended_total", reason="logout"),
    }
    assert parent.sign_in(password="niet mijn wachtwoord").status_code == 400
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    assert sample(client, "idp_active_sessions") == 1
    rp.refresh(tokens["refresh_token"])
    rp.refresh(tokens["refresh_token"])  # a reuse: invalid_grant
    parent.log_out()
    assert sample(client, "idp_sign_ins_total", result="success") == before["sign_ins"] + 1
    assert sample(client, "idp_sign_ins_total", result="bad_credentials") == before["failures"] + 1
    assert sample(client, "idp_tokens_issued_total", grant="authorization_code") == before["code"] + 1
    assert sample(client, "idp_tokens_issued_total", grant="refresh_token") == before["refresh"] + 1
    assert sample(client, "idp_token_errors_total", error="invalid_grant") == before["invalid_grant"] + 1
    assert sample(client, "idp_sessions_ended_total", reason="logout") == before["logouts"] + 1
    assert sample(client, "idp_active_sessions") == 0
    assert sample(client, "idp_request_duration_seconds_count", endpoint="oauth.token") >= 3
    assert 0 <= sample(client, "idp_signing_key_age_seconds", alg="RS256") < 3600


@pytest.fixture
def request_lines():
    """The JSON lines of ``idp.request``, formatted as they are written (during the request)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("idp.request")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_the_request_id_is_taken_from_the_caller_or_made_up(client, request_lines):
    given = client.get("/inloggen", headers={"X-Request-ID": "lb-7f3a.1"})
    made = client.get("/inloggen", headers={"X-Request-ID": "not an id; " * 3})
    assert given.headers["X-Request-ID"] == "lb-7f3a.1"
    assert made.headers["X-Request-ID"] not in ("", "not an id; " * 3)
    lines = request_lines()
    assert [line["request_id"] for line in lines] == ["lb-7f3a.1", made.headers["X-Request-ID"]]
    assert lines[0]["route"] == "/inloggen" and lines[0]["status"] == 200


def test_request_lines_name_the_client_and_never_the_activation_link(world, client, request_lines):
    parent, rp = world
    client.get(rp.authorization_url())
    client.get("/activeren/some-token-value-here")
    lines = request_lines()
    assert lines[0]["client_id"] == rp.client_id and lines[0]["route"] == "/authorize"
    assert lines[1]["route"] == "/activeren/<token>"
    assert "some-token-value-here" not in json.dumps(lines)
