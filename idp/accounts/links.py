"""SHIM of idp.accounts.links (deleted at merge): single-use links e-mailed to the holder."""

from flask import current_app
from sqlalchemy import update

from idp import clock, crypto, mail
from idp.extensions import db
from idp.models import Account, AccountLink

SELF = "self"


def issue(account: Account, purpose: str, requested_by: str, *, approved: bool = True) -> AccountLink:
    now = clock.timestamp()
    db.session.execute(update(AccountLink).where(
        AccountLink.account_id == account.id, AccountLink.purpose == purpose,
        AccountLink.used_at.is_(None), AccountLink.expires_at > now).values(expires_at=now))
    token = crypto.new_token(32)
    link = AccountLink(account_id=account.id, purpose=purpose, requested_by=requested_by,
                       token_hash=crypto.token_hash(token), approved_by=requested_by,
                       approved_at=now, issued_at=now, expires_at=now + 30 * 60)
    db.session.add(link)
    db.session.commit()
    text = (f"Beste {account.name or account.username},\n\norganisatie: "
            f"{account.organisation.display_name}\ngebruikersnaam: {account.username}\n"
            f"adres: {current_app.config['IDP_ISSUER']}/herstellen/{token}\n")
    mail.send(mail.build(account.email, "[Ouderportaal] Nieuw wachtwoord instellen", text,
                         "<pre>" + text + "</pre>"))
    return link


def helpdesk_contact(account: Account) -> str:
    org = account.organisation
    return org.helpdesk_contact or org.name
