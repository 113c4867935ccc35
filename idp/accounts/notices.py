"""The e-mails that tell an account holder what staff (or they themselves) did to the account,
and whom to contact if that was not them. E-mails are Dutch only (README, "Languages").

A notice never carries a link or a secret. One that cannot be sent is logged: the action it
reports is done and stays done.

``compose`` addresses every e-mail to an account holder the same way, also the ones with a
link (welcome, new password, new app) and the lock e-mail.
"""

import logging
from dataclasses import dataclass
from email.message import Message

from flask import current_app

from idp import mail
from idp.models import Account


@dataclass(frozen=True)
class Notice:
    subject: str
    #: What happened, and what it means for the account holder.
    lines: tuple[str, ...]
    #: Something they did not ask for themselves (the closing line differs).
    imposed: bool = False


UNLOCKED = Notice("Uw account is vrijgegeven", (
    "De helpdesk heeft uw account vrijgegeven. U kunt weer inloggen.",
))
DISABLED = Notice("Uw account is uitgeschakeld", (
    "Uw account is uitgeschakeld. U bent overal uitgelogd en u kunt niet meer inloggen.",
), imposed=True)
ENABLED = Notice("Uw account is weer ingeschakeld", (
    "Uw account is weer ingeschakeld. U kunt weer inloggen.",
))
SIGNED_OUT = Notice("U bent overal uitgelogd", (
    "De helpdesk heeft u op alle apparaten uitgelogd. U kunt gewoon opnieuw inloggen.",
))
AUTHENTICATOR_REMOVED = Notice("Uw app is losgekoppeld", (
    "De app Google Authenticator op uw oude telefoon is losgekoppeld van uw account. De codes "
    "van die app werken niet meer, en u bent overal uitgelogd.",
    "Zodra een tweede medewerker dit heeft goedgekeurd, krijgt u een e-mail met een link om uw "
    "nieuwe telefoon te koppelen. Uw wachtwoord blijft hetzelfde.",
))
EMAIL_CHANGED = Notice("Uw e-mailadres is gewijzigd", (
    "Het e-mailadres van uw account is gewijzigd. E-mails over uw account gaan voortaan naar "
    "het nieuwe adres, niet meer naar dit adres.",
))
USERNAME_CHANGED = Notice("Uw gebruikersnaam is gewijzigd", (
    "De gebruikersnaam van uw account is gewijzigd. Gebruik voortaan de gebruikersnaam "
    "hieronder om in te loggen; let op hoofdletters en kleine letters.",
))
PASSWORD_CHANGED = Notice("Uw wachtwoord is gewijzigd", (
    "Het wachtwoord van uw account is gewijzigd. U bent overal uitgelogd; log in met uw nieuwe "
    "wachtwoord.",
))
#: The account holder changed it on the account page (the browser they used stays signed in).
PASSWORD_CHANGED_BY_HOLDER = Notice("Uw wachtwoord is gewijzigd", (
    "U heeft het wachtwoord van uw account gewijzigd. Op uw andere apparaten bent u uitgelogd.",
))
AUTHENTICATOR_LINKED = Notice("Uw nieuwe app is gekoppeld", (
    "Er is een nieuwe app Google Authenticator aan uw account gekoppeld. Vanaf nu werken alleen "
    "de codes van die app; de codes van een eerdere app werken niet meer.",
))
ERASED = Notice("Uw account is verwijderd", (
    "Uw account en de gegevens die wij over u bewaarden zijn verwijderd. U kunt niet meer "
    "inloggen met deze gebruikersnaam.",
), imposed=True)

log = logging.getLogger(__name__)


def helpdesk_contact(account: Account) -> str:
    """Whom the account holder contacts: the organisation's helpdesk, else the organisation."""
    org = account.organisation
    return org.helpdesk_contact or org.name


def compose(account: Account, template: str, subject: str, *, to: str | None = None,
            **context) -> Message:
    """An e-mail from ``templates/mail/<template>`` to the account holder (or ``to``), naming
    the account and its organisation, with the brand in the subject."""
    text, html = mail.render(template, account=account,
                             organisation=account.organisation.display_name, **context)
    return mail.build(to or account.email, f"[{current_app.config['IDP_BRAND']}] {subject}",
                      text, html)


def prepare(account: Account, notice: Notice, *, to: str | None = None) -> Message:
    """The message, made now (for an account about to be erased)."""
    return compose(account, "notice", notice.subject, to=to, lines=notice.lines,
                   imposed=notice.imposed, helpdesk=helpdesk_contact(account))


def deliver(message: Message) -> None:
    try:
        mail.send(message)
    except mail.MailError as error:
        log.error("notice %r not sent: %s", message["Subject"], error)


def send(account: Account, notice: Notice, *, to: str | None = None) -> None:
    deliver(prepare(account, notice, to=to))
