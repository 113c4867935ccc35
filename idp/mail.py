"""Rendering and sending e-mail: over SMTP when IDP_SMTP_URL is set, else into the outbox
folder (one .eml file per message) and onto the console (stderr), for the embedded default."""

import logging
import re
import smtplib
import ssl
import sys
import threading
import time
from contextlib import contextmanager
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, render_template

from idp import clock

log = logging.getLogger(__name__)


def render(template: str, **context) -> tuple[str, str]:
    """The text and HTML parts of ``templates/mail/<template>.{txt,html}``."""
    context.setdefault("brand", current_app.config["IDP_BRAND"])
    return (
        render_template(f"mail/{template}.txt", **context),
        render_template(f"mail/{template}.html", **context),
    )


def build(to: str, subject: str, text: str, html: str) -> Message:
    """A text and an HTML alternative, UTF-8 (base64), with the headers every e-mail has.

    Made with the compat32 MIME classes rather than ``EmailMessage``: the default policy parses
    every header it is given into objects, which made building and sending an e-mail cost ~4x
    as much CPU. That counted for the 10,000 welcome e-mails of a bulk import (bench/).
    """
    message = MIMEMultipart("alternative")
    message["Subject"] = subject
    message["From"] = current_app.config["IDP_MAIL_FROM"]
    message["To"] = to
    message["Date"] = formatdate(clock.now(), localtime=False)
    message["Message-ID"] = make_msgid(domain="idp.local")
    message["Auto-Submitted"] = "auto-generated"
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message


def text_of(message: Message) -> str:
    """The plain-text part of a message made by ``build``."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""


class MailError(Exception):
    """The message could not be handed to the SMTP server; the text says why (no secrets)."""


#: The SMTP connection kept open by ``one_connection()`` in this thread, if any.
_kept = threading.local()


@contextmanager
def one_connection():
    """Every ``send()`` inside shares one SMTP connection (opened at the first message).

    For bulk work (10,000 welcome e-mails of a CSV import): a connection, TLS handshake and
    login per message would cost more than the invitation itself. A connection the server
    closed in between (an idle timeout) is opened again once.
    """
    if getattr(_kept, "active", False):  # nested: the outer one owns the connection
        yield
        return
    _kept.active, _kept.smtp = True, None
    try:
        yield
    finally:
        smtp, _kept.active, _kept.smtp = _kept.smtp, False, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


@contextmanager
def held(messages: list):
    """Every ``send()`` inside appends to ``messages`` instead of sending: the caller sends them
    (inside ``one_connection()``) once what they announce is committed, e.g. a batch of invitations."""
    previous, _kept.held = getattr(_kept, "held", None), messages
    try:
        yield messages
    finally:
        _kept.held = previous


def connect_now() -> None:
    """Inside ``one_connection()``: open the connection now, so a caller learns that the SMTP
    server is unreachable (MailError) before it commits what the e-mails will announce."""
    url = current_app.config["IDP_SMTP_URL"]
    if not url or not getattr(_kept, "active", False) or _kept.smtp is not None:
        return
    try:
        _kept.smtp = _connect(url)
    except (OSError, smtplib.SMTPException) as error:
        raise _failed("mail server unreachable", url, error) from None


def send(message: Message) -> None:
    held_messages = getattr(_kept, "held", None)
    if held_messages is not None:
        held_messages.append(message)
        return
    url = current_app.config["IDP_SMTP_URL"]
    if not url:
        _write_outbox(message)
        return
    try:
        if getattr(_kept, "active", False):
            _send_kept(url, message)
        else:
            with _connect(url) as smtp:
                smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:  # ssl errors are OSErrors too
        raise _failed("mail not sent", url, error) from None
    log.info("mail sent: subject=%r", message["Subject"])


#: An e-mail address as an SMTP server quotes it in its answer ("<x@y>: Recipient refused").
_ADDRESS = re.compile(r"""[^\s<>@'"]+@[^\s<>'"]+""")


def _failed(what: str, url: str, error: Exception) -> MailError:
    """Log the failure and make the MailError to raise, both without the addresses it names."""
    why = _describe(error)
    log.error("%s: %s: %s", what, type(error).__name__, why)
    return MailError(f"{urlsplit(url).hostname}: {type(error).__name__}: {why}")


def _describe(error: Exception) -> str:
    """Why the server refused, without the addresses it names: those are personal data, and
    this text goes to the log and to staff."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "recipient refused: " + ", ".join(
            str(code) for code, _ in error.recipients.values())
    return _ADDRESS.sub("<address>", str(error))


def _send_kept(url: str, message: Message) -> None:
    if _kept.smtp is not None:
        try:
            _kept.smtp.send_message(message)
            return
        except smtplib.SMTPServerDisconnected:
            _kept.smtp.close()
            _kept.smtp = None
    _kept.smtp = _connect(url)
    _kept.smtp.send_message(message)


def _connect(url: str) -> smtplib.SMTP:
    """An SMTP connection, TLS and login done, per IDP_SMTP_URL."""
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    timeout = current_app.config["IDP_SMTP_TIMEOUT"]
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout,
                                context=ssl.create_default_context())
    elif parts.scheme == "smtp":
        smtp = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
    else:
        raise ValueError("IDP_SMTP_URL must start with smtp:// or smtps://")
    try:
        if options.get("starttls", ["false"])[0].lower() == "true":
            # Made only where TLS is used: loading the CA certificates costs ~20-30 ms of CPU.
            smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp


def _write_outbox(message: Message) -> None:
    outbox = Path(current_app.config["IDP_INSTANCE_DIR"]) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    # Named to sort in the order sent: within one second, the Message-ID alone (its random
    # part) put two e-mails in either order, and the last one printed was not the last sent.
    name = (f"{clock.timestamp()}-{time.time_ns()}-"
            f"{message['Message-ID'].strip('<>').split('@')[0]}.eml")
    (outbox / name).write_bytes(bytes(message))
    text = text_of(message)
    print(
        f"\n--- e-mail (outbox/{name}) ---\nTo: {message['To']}\nSubject: {message['Subject']}\n\n"
        f"{text}--- end of e-mail ---\n",
        file=sys.stderr,  # the console, but never a command's own output
        flush=True,
    )
