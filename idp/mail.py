"""Rendering and sending e-mail: over SMTP when IDP_SMTP_URL is set, else into the outbox
folder (one .eml file per message) and onto the console (stderr), for the embedded default."""

import logging
import re
import smtplib
import ssl
import sys
from email.message import EmailMessage
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


def build(to: str, subject: str, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["IDP_MAIL_FROM"]
    message["To"] = to
    message["Date"] = formatdate(clock.now(), localtime=False)
    message["Message-ID"] = make_msgid(domain="idp.local")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


class MailError(Exception):
    """The message could not be handed to the SMTP server; the text says why (no secrets)."""


def send(message: EmailMessage) -> None:
    url = current_app.config["IDP_SMTP_URL"]
    if not url:
        _write_outbox(message)
        return
    try:
        _send_smtp(url, message)
    except (OSError, smtplib.SMTPException) as error:  # ssl errors are OSErrors too
        why = _describe(error)
        log.error("mail not sent: %s: %s", type(error).__name__, why)
        raise MailError(f"{urlsplit(url).hostname}: {type(error).__name__}: {why}") from None


#: An e-mail address as an SMTP server quotes it in its answer ("<x@y>: Recipient refused").
_ADDRESS = re.compile(r"""[^\s<>@'"]+@[^\s<>'"]+""")


def _describe(error: Exception) -> str:
    """Why the server refused, without the addresses it names: those are personal data, and
    this text goes to the log and to staff."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "recipient refused: " + ", ".join(
            str(code) for code, _ in error.recipients.values())
    return _ADDRESS.sub("<address>", str(error))


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    options = parse_qs(parts.query)
    timeout = current_app.config["IDP_SMTP_TIMEOUT"]
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context)
    elif parts.scheme == "smtp":
        smtp = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
    else:
        raise ValueError("IDP_SMTP_URL must start with smtp:// or smtps://")
    with smtp:
        if options.get("starttls", ["false"])[0].lower() == "true":
            smtp.starttls(context=context)
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
    log.info("mail sent: subject=%r", message["Subject"])


def _write_outbox(message: EmailMessage) -> None:
    outbox = Path(current_app.config["IDP_INSTANCE_DIR"]) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{clock.timestamp()}-{message['Message-ID'].strip('<>').split('@')[0]}.eml"
    (outbox / name).write_bytes(bytes(message))
    text = message.get_body(("plain",)).get_content()
    print(
        f"\n--- e-mail (outbox/{name}) ---\nTo: {message['To']}\nSubject: {message['Subject']}\n\n"
        f"{text}--- end of e-mail ---\n",
        file=sys.stderr,  # the console, but never a command's own output
        flush=True,
    )
