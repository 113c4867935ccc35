"""Redis and PostgreSQL as operators run them: Redis over TLS (``rediss://``), Redis behind
Sentinel through a failover (``redis+sentinel://``), and a PostgreSQL URL with several hosts
(``target_session_attrs=read-write``). Each against real servers of the test's own on free
ports: a TLS-only redis-server with a throwaway CA made here, a primary, a replica and a
Sentinel; the shared Redis on 6379 is never touched."""

import contextlib
import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from idp import clock, create_app, keys, redis_url
from idp.extensions import db
from tests import conftest
from tests.processes import free_port
from tests.redis_server import RedisServer, SentinelServer, TlsRedisServer
from tests.test_keys_two_processes import within
from tests.test_oidc_flow import sign_in_at

#: A failover on a busy machine: a second to call the primary down, an election, a promotion.
FAILOVER_BOUND = 30


# --- throwaway certificates ----------------------------------------------------------------
def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(folder, stem: str, key, cert) -> tuple:
    key_path, cert_path = folder / f"{stem}.key", folder / f"{stem}.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def certificate_authority(folder, name: str):
    """A CA of this test alone: its key, and its certificate's path."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert, _write(folder, name, key, cert)[0]


def server_certificate(folder, ca_key, ca_cert):
    """A certificate for 127.0.0.1 and localhost, signed by the CA: its path and its key's."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name("redis.test"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _write(folder, "redis", key, cert)


# --- servers of the test's own ----------------------------------------------------------------
@pytest.fixture
def tls_redis(tmp_path):
    ca_key, ca_cert, ca_path = certificate_authority(tmp_path, "test-ca")
    cert, key = server_certificate(tmp_path, ca_key, ca_cert)
    server = TlsRedisServer(tmp_path, cert, key, ca_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def sentinel_redis(tmp_path):
    """A primary, its replica, and a Sentinel watching them (``.service_url`` for the app)."""
    primary = RedisServer(tmp_path)
    replica = RedisServer(tmp_path, "--replicaof", "127.0.0.1", str(primary.port))
    sentinel = SentinelServer(tmp_path, primary)
    started = []
    try:
        for server in (primary, replica, sentinel):
            server.start()
            started.append(server)
        assert within(FAILOVER_BOUND, lambda: replica.port in sentinel.replica_ports())
        sentinel.servers = primary, replica
        yield sentinel
    finally:
        for server in reversed(started):
            server.stop()


def make_app(tmp_path, smtp_server, database_url, redis_url, **settings):
    controller, inbox = smtp_server
    inbox.messages.clear()
    return create_app({
        **conftest.BASE_SETTINGS,
        "IDP_INSTANCE_DIR": str(tmp_path / "instance"),
        "IDP_DATABASE_URL": database_url,
        "IDP_REDIS_URL": redis_url,
        "IDP_REDIS_TIMEOUT": 1,
        "IDP_SMTP_URL": f"smtp://127.0.0.1:{controller.port}",
        **settings,
    })


@contextlib.contextmanager
def own_app(tmp_path, smtp_server, database_url, redis_url, **settings):
    """An app for one test body; its connections are closed after it."""
    keys.forget_cache()
    application = make_app(tmp_path, smtp_server, database_url, redis_url, **settings)
    try:
        yield application
    finally:
        keys.forget_cache()
        application.extensions["idp.store"].close()
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(request, backend, postgres_url, smtp_server, tmp_path):
    """Replaces conftest's ``app``: PostgreSQL and SMTP as there, Redis as the test says
    (``indirect``: the name of a fixture above)."""
    redis = request.getfixturevalue(request.param)
    clock.unfreeze()
    keys.forget_cache()
    application = make_app(tmp_path, smtp_server, postgres_url,
                           getattr(redis, "service_url", redis.url))
    yield application
    clock.unfreeze()
    keys.forget_cache()
    application.extensions["idp.store"].close()
    conftest._empty_tables(application)


def signs_in_and_uses_its_tokens(world) -> None:
    parent, rp = world
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    assert rp.userinfo(tokens["access_token"]).status_code == 200  # the session, from Redis
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


# --- Redis over TLS ----------------------------------------------------------------------------
@pytest.mark.parametrize("app", ["tls_redis"], indirect=True)
@pytest.mark.parametrize("backend", ["postgres"])
def test_the_service_runs_on_a_redis_that_only_speaks_tls(app, world, tls_redis):
    assert tls_redis.url.startswith("rediss://")
    assert app.test_client().get("/readyz").status_code == 200
    signs_in_and_uses_its_tokens(world)


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_redis_certificate_from_another_ca_is_refused(
        backend, tls_redis, tmp_path, postgres_url, smtp_server):
    """Fail closed: the certificate is verified, so a Redis we cannot trust is an outage."""
    _, _, stranger_ca = certificate_authority(tmp_path, "stranger-ca")
    with own_app(tmp_path, smtp_server, postgres_url,
                 tls_redis.url.replace(str(tls_redis.ca), str(stranger_ca))) as application:
        browser = application.test_client()
        assert browser.get("/readyz").status_code == 503
        assert browser.get("/inloggen").status_code == 503


# --- Redis Sentinel: the primary goes, the replica takes over ---------------------------------
@pytest.mark.parametrize("app", ["sentinel_redis"], indirect=True)
@pytest.mark.parametrize("backend", ["postgres"])
def test_the_service_keeps_working_when_sentinel_fails_the_primary_over(
        app, world, sentinel_redis):
    primary, replica = sentinel_redis.servers
    assert sentinel_redis.primary_port() == primary.port
    browser = app.test_client()
    assert browser.get("/readyz").status_code == 200
    signs_in_and_uses_its_tokens(world)

    primary.stop()  # gone for good; Sentinel calls it down after a second and promotes
    assert within(FAILOVER_BOUND, lambda: sentinel_redis.primary_port() == replica.port)
    # The service finds the new primary by itself, without a restart.
    assert within(FAILOVER_BOUND, lambda: browser.get("/readyz").status_code == 200)
    parent, rp = world
    parent.browser = app.test_client()  # a new device: a new sign-in, written to the new primary
    clock.advance(30)  # the next authenticator code (the last one is used up)
    signs_in_and_uses_its_tokens((parent, rp))


# --- PostgreSQL with several hosts -------------------------------------------------------------
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_database_url_with_several_hosts_finds_the_one_that_answers(
        backend, postgres_url, smtp_server, tmp_path):
    """libpq tries the hosts in turn and takes the first that accepts writes
    (target_session_attrs=read-write): here the first is a port where nothing listens."""
    database = postgres_url.rsplit("/", 1)[1]
    url = (f"postgresql+psycopg://postgres@/{database}?host=127.0.0.1:{free_port()}"
           f"&host=127.0.0.1:5432&target_session_attrs=read-write&connect_timeout=2")
    with own_app(tmp_path, smtp_server, url, conftest.REDIS_URL,
                 IDP_REDIS_PREFIX=f"idp-test-{free_port()}:") as application:  # no other run's keys
        assert application.test_client().get("/readyz").status_code == 200
        assert application.test_client().get("/jwks").status_code == 200
        with application.app_context():
            assert db.session.scalar(text("SHOW transaction_read_only")) == "off"
            db.session.remove()


# --- reading a Sentinel URL ----------------------------------------------------------------------
@pytest.mark.parametrize("url, expected", [
    ("redis+sentinel://h1:26379,h2:26380/mymaster/2",
     ("mymaster", [("h1", 26379), ("h2", 26380)], 2, {}, {})),
    ("rediss+sentinel://:s%40cret@h1:26379/mymaster?ssl_ca_certs=/ca.pem&sentinel_password=x",
     ("mymaster", [("h1", 26379)], 0, {"username": None, "password": "s@cret"},
      {"ssl_ca_certs": "/ca.pem", "sentinel_password": "x"})),
    ("redis+sentinel://idp:pw@[::1]:26379/mymaster/0",
     ("mymaster", [("::1", 26379)], 0, {"username": "idp", "password": "pw"}, {})),
], ids=["two sentinels and a db", "tls, password and options", "user and ipv6"])
def test_a_sentinel_url_is_read(url, expected):
    assert redis_url._sentinel_parts(url) == expected


@pytest.mark.parametrize("url", [
    "redis+sentinel://h1/mymaster", "redis+sentinel://h1:26379", "redis+sentinel://h1:26379/a/b",
    "redis+sentinel://h1:26379/mymaster/0/extra",
], ids=["no port", "no service", "db not a number", "too long"])
def test_a_wrong_sentinel_url_says_what_is_wrong(url):
    with pytest.raises(ValueError, match="IDP_REDIS_URL"):
        redis_url._sentinel_parts(url)


@pytest.mark.parametrize("option", ["ssl_cert_reqs=none", "ssl_cert_reqs=optional",
                                    "ssl_check_hostname=false"])
@pytest.mark.parametrize("scheme", ["rediss", "rediss+sentinel"])
def test_tls_to_redis_cannot_be_made_unverified(scheme, option):
    with pytest.raises(ValueError, match="always verified"):
        redis_url.client(f"{scheme}://127.0.0.1:1/mymaster?{option}")
