"""SHIM of idp.accounts.notices (deleted at merge): e-mails telling the holder what happened."""

from dataclasses import dataclass

from flask import current_app

from idp import mail
from idp.accounts.links import helpdesk_contact


@dataclass(frozen=True)
class Notice:
    subject: str
    lines: tuple[str, ...]
    imposed: bool = False


def send(account, notice: Notice, *, to: str | None = None) -> None:
    text = "\n\n".join(notice.lines) + f"\n\nWas u dit niet? Neem contact op met {helpdesk_contact(account)}.\n"
    subject = f"[{current_app.config['IDP_BRAND']}] {notice.subject}"
    mail.send(mail.build(to or account.email, subject, text, "<pre>" + text + "</pre>"))


PASSWORD_CHANGED = Notice("Uw wachtwoord is gewijzigd", (
    "Het wachtwoord van uw account is gewijzigd. U bent overal uitgelogd; log in met uw nieuwe "
    "wachtwoord.",
))
AUTHENTICATOR_LINKED = Notice("Uw nieuwe app is gekoppeld", (
    "Er is een nieuwe app Google Authenticator aan uw account gekoppeld. Vanaf nu werken alleen "
    "de codes van die app; de codes van een eerdere app werken niet meer.",
))
