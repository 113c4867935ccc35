"""E-mail over TLS, as production sends it: SMTPS (implicit TLS) and STARTTLS with a login, to
a real SMTP server on loopback whose certificate the test's own CA signed. A server the CA did
not sign is refused, and the staff command says what to do."""

import datetime
import ipaddress
import socket
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import _Inbox


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, and a server certificate for localhost signed by it (files)."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test CA", "Test CA", ca_key.public_key(), ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("localhost", "Test CA", server_key.public_key(), ca_key)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return folder


def _server_context(pki):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    return context


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"idp-mailer" and auth_data.password == b"s3cret pass"
    return AuthResult(success=ok)


@pytest.fixture
def smtps_server(pki):
    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="localhost", port=port,
                            ssl_context=_server_context(pki), server_hostname="localhost")
    controller.start()
    yield f"smtps://localhost:{port}", inbox
    controller.stop()


@pytest.fixture
def starttls_server(pki):
    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="localhost", port=port,
                            tls_context=_server_context(pki), require_starttls=True,
                            authenticator=_login, auth_required=True, auth_require_tls=True)
    controller.start()
    yield f"smtp://idp-mailer:s3cret%20pass@localhost:{port}?starttls=true", inbox
    controller.stop()


def invite(app, runner, url):
    app.config["IDP_SMTP_URL"] = url
    return runner.invoke(args=["parent", "invite", "--org", "PO2806", "--email",
                               "ouder@example.org", "--username", "Ouder.Tls"])


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("server", ["smtps_server", "starttls_server"])
def test_the_welcome_email_goes_over_tls(request, app, runner, make_org, pki, monkeypatch, server):
    url, inbox = request.getfixturevalue(server)
    make_org()
    monkeypatch.setenv("SSL_CERT_FILE", str(pki / "ca.pem"))  # trust the test CA only
    result = invite(app, runner, url)
    assert result.exit_code == 0, result.output
    [message] = inbox.messages
    assert message["To"] == "ouder@example.org" and "Welkom" in message["Subject"]


@pytest.mark.parametrize("backend", ["postgres"])
def test_an_untrusted_server_certificate_is_refused_with_advice(app, runner, make_org,
                                                                 smtps_server, tmp_path,
                                                                 monkeypatch):
    url, inbox = smtps_server
    make_org()
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_ca = _certificate("Other CA", "Other CA", other_key.public_key(), other_key, ca=True)
    (tmp_path / "other.pem").write_bytes(other_ca.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "other.pem"))
    result = invite(app, runner, url)
    assert result.exit_code == 1 and inbox.messages == []
    assert "could not be sent" in result.output and "CERTIFICATE_VERIFY_FAILED" in result.output
    assert "run this command again" in result.output


@pytest.mark.parametrize("backend", ["sqlite"])  # the outbox: the embedded default's e-mail
def test_the_outbox_lists_e_mails_in_the_order_they_were_sent(app, mailbox, frozen_clock):
    """What the console prints last, and the last file of the outbox, is the last e-mail sent,
    also for e-mails sent within one second (the demo sends two at once)."""
    from idp import mail

    with app.test_request_context():
        for number in range(30):
            mail.send(mail.build(f"ouder{number}@example.org", f"Bericht {number}", "tekst",
                                 "<p>tekst</p>"))
    assert [m["Subject"] for m in mailbox.messages()] == [f"Bericht {n}" for n in range(30)]
