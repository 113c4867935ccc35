"""What staff, provisioning clients and commands may do to an account, each in one place.

Every action: checks (a refusal changes nothing and says why in a Dutch sentence), changes,
one audit event (``account.<verb>``, naming the account by subject, with the actor, IP and
reason), a commit, and then an e-mail to the account holder saying what happened. Nothing
returned or logged holds a secret or a link: links go only to the account holder's own address.

A change of the account gives it a new ``version`` and ``updated_at`` (``Account.touch``).
E-mails that carry a link (invitation, reset) raise ``mail.MailError`` when they cannot be
sent, after the change is committed: the caller tells staff to send again. A notice that
cannot be sent is logged and does not undo the action.

``change`` does several of the profile, disable, enable and resend actions as one: all of them
checked and made in one transaction, the e-mails and logouts after its one commit (a SCIM PUT or
PATCH is all or nothing, RFC 7644 3.5.2).
"""

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import partial
from typing import Callable

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update

from idp import audit, clock, crypto, mail, sessions, throttle
from idp.accounts import links, notices
from idp.extensions import db
from idp.flows import activation
from idp.models import (Account, AccountLink, Activation, AuditEvent, AuthorizationCode, Grant,
                        Organisation, RefreshToken)
from idp.models.account import ACTIVE, DISABLED, INVITED, STAFF_ROLES
from idp.models.account_link import NEW_AUTHENTICATOR, PASSWORD_RESET

log = logging.getLogger(__name__)

MAX_EMAIL, MAX_USERNAME, MAX_NAME, MAX_EXTERNAL_ID = 320, 150, 200, 200
# A pragmatic address check, the same for the console, the CSV import, SCIM and the commands:
# one @, something before it, a domain with a dot, no spaces, no characters a mail server would
# refuse. The welcome e-mail is the real proof.
EMAIL_ADDRESS = re.compile(r"[^@\s\"(),:;<>\[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
#: What a provisioning client (SCIM) is called in the audit log: it acts without a reason.
PROVISIONING_PREFIX = "scim:"


@dataclass(frozen=True)
class Actor:
    """Who does it, as the audit log names them ("Anna de Vries (helpdesk, PO2806)",
    "scim:<client_id>", the OS user of a command); where from; and why (a ticket number or a
    note, required for the helpdesk's actions)."""

    name: str
    ip: str | None = None
    reason: str | None = None

    @property
    def is_provisioning(self) -> bool:
        return self.name.startswith(PROVISIONING_PREFIX)


class Refused(Exception):
    """The action was not done and nothing changed; ``str()`` says why, for staff."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


#: What an action does once its change is committed (e-mails, ending sessions, forgetting
#: failed sign-ins in the store): never before, so a refusal or rollback leaves no trace.
AfterCommit = list[Callable[[], None]]


def _commit_then(effects: AfterCommit) -> None:
    """Commit, then do every effect; an e-mail with a link that could not be sent is raised
    (``mail.MailError``) after the others were done."""
    db.session.commit()
    failed = None
    for effect in effects:
        try:
            effect()
        except mail.MailError as error:
            failed = failed or error
    if failed is not None:
        raise failed


def _record(actor: Actor, action: str, account: Account, **detail) -> None:
    audit.for_account(actor.name, action, account, ip=actor.ip, **_detail(actor, detail))


def _detail(actor: Actor, detail: dict) -> dict:
    return {**detail, "reason": actor.reason} if actor.reason else detail


def _require_reason(actor: Actor) -> None:
    """The helpdesk's actions need a reason; a provisioning client acts on its own records."""
    if not actor.is_provisioning and not (actor.reason or "").strip():
        raise Refused(_("Vul een reden in, bijvoorbeeld het nummer van de melding."),
                      "reason_required")


# --- checks on what staff type ---------------------------------------------------------------
def is_email(email: str) -> bool:
    return len(email) <= MAX_EMAIL and EMAIL_ADDRESS.fullmatch(email) is not None


def _clean_email(email: str | None) -> str:
    email = (email or "").strip()
    if not is_email(email):
        raise Refused(_("Dit is geen geldig e-mailadres: %(email)s", email=email[:100]),
                      "invalid_email")
    return email


def _clean_username(username: str | None) -> str:
    username = (username or "").strip()
    if (not username or len(username) > MAX_USERNAME
            or any(c.isspace() or unicodedata.category(c)[0] == "C" for c in username)):
        raise Refused(_("Een gebruikersnaam heeft 1 tot 150 tekens, zonder spaties."),
                      "invalid_username")
    return username


def _clean_name(name: str | None) -> str | None:
    name = " ".join((name or "").split())
    if len(name) > MAX_NAME:
        raise Refused(_("Een naam heeft hoogstens 200 tekens."), "invalid_name")
    return name or None


def _clean_external_id(external_id: str | None) -> str | None:
    """None and "" both mean none (update_profile: "" removes it)."""
    if external_id and (not external_id.strip() or len(external_id) > MAX_EXTERNAL_ID):
        raise Refused(_("Een externe id heeft 1 tot 200 tekens."), "invalid_external_id")
    return external_id or None


def _others(org: Organisation, account: Account | None):
    query = select(Account.id).where(Account.organisation_id == org.id)
    return query if account is None else query.where(Account.id != account.id)


def _check_unique(org: Organisation, account: Account | None, *, username=None, email=None,
                  external_id=None) -> None:
    """Refuse what another account of the organisation already has (case-sensitive usernames,
    e-mail addresses in any case)."""
    others = _others(org, account)
    for field, value, query in (
            (USERNAME, username, others.where(Account.username == username)),
            (EMAIL, email, others.where(func.lower(Account.email) == (email or "").lower())),
            (EXTERNAL_ID, external_id, others.where(Account.external_id == external_id))):
        if value is not None and db.session.scalar(query):
            raise _taken(org, field, value)


USERNAME, EMAIL, EXTERNAL_ID = "username", "email", "external_id"


def _taken(org: Organisation, field: str, value: str) -> Refused:
    """Why ``value`` cannot be used: another account of ``org`` has it as its ``field``."""
    if field == USERNAME:
        return Refused(_("De gebruikersnaam %(username)s bestaat al in %(organisation)s. Kies een "
                         "andere gebruikersnaam.", username=value, organisation=org.code),
                       "duplicate_username")
    if field == EMAIL:
        return Refused(_("Er is in %(organisation)s al een account met het e-mailadres "
                         "%(email)s.", email=value, organisation=org.code), "duplicate_email")
    return Refused(_("Er is in %(organisation)s al een account met deze externe id.",
                     organisation=org.code), "duplicate_external_id")


def taken(org: Organisation, accounts: list[Account]) -> dict[int, Refused]:
    """``_check_unique`` for many new accounts at once, in one query (the bulk import): per
    index into ``accounts``, why that one is refused. New accounts that clash with each other
    are left to the unique constraints (the bulk import's planner already refuses them)."""
    if not accounts:
        return {}
    emails = {account.email.lower() for account in accounts}
    usernames = {account.username for account in accounts}
    external_ids = {account.external_id for account in accounts if account.external_id}
    existing = {USERNAME: set(), EMAIL: set(), EXTERNAL_ID: set()}
    for username, email, external_id in db.session.execute(
            select(Account.username, func.lower(Account.email), Account.external_id)
            .where(Account.organisation_id == org.id,
                   or_(Account.username.in_(usernames), func.lower(Account.email).in_(emails),
                       Account.external_id.in_(external_ids)))):
        existing[USERNAME].add(username)
        existing[EMAIL].add(email)
        existing[EXTERNAL_ID].add(external_id)
    refused = {}
    for index, account in enumerate(accounts):
        for field, value, key in ((USERNAME, account.username, account.username),
                                  (EMAIL, account.email, account.email.lower()),
                                  (EXTERNAL_ID, account.external_id, account.external_id)):
            if value is not None and key in existing[field]:
                refused[index] = _taken(org, field, value)
                break
    return refused


def suggest_username(org: Organisation, name: str) -> str:
    """``Voornaam.achternaam`` as in the handbook (Yvonne.testouder): the first name as typed,
    the rest in lower case without spaces; accents and other signs left out, so it can be typed
    on any keyboard. Unique in the organisation: Yvonne.testouder2, 3, ... when taken."""
    base = username_base(name)
    taken_names = set(db.session.scalars(
        select(Account.username).where(Account.organisation_id == org.id,
                                       Account.username.startswith(base, autoescape=True))
    ))
    return first_free(base, taken_names)


def username_base(name: str) -> str:
    """``suggest_username`` before it is made unique (a pure function: the bulk import checks
    it against the usernames it has already loaded)."""
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    words = [re.sub(r"[^A-Za-z0-9-]", "", word) for word in ascii_name.split()]
    words = [word for word in words if word]
    if not words:
        base = "ouder"
    elif len(words) == 1:
        base = words[0]
    else:
        base = f"{words[0]}.{''.join(words[1:]).lower()}"
    return base[: MAX_USERNAME - 6]


def first_free(base: str, taken_names) -> str:
    """``base``, else ``base2``, ``base3``, ...: the first not in ``taken_names``."""
    candidate, number = base, 1
    while candidate in taken_names:
        number += 1
        candidate = f"{base}{number}"
    return candidate


# --- invitations ----------------------------------------------------------------------------
def invite(org: Organisation, email: str, username: str, name: str | None, actor: Actor, *,
           external_id: str | None = None, role: str | None = None) -> Account:
    """A new account (a parent, or staff with ``role``), not yet active; the welcome e-mail
    with the activation link goes to ``email``."""
    account = new_invitation(org, email, username, name, external_id=external_id, role=role)
    _check_unique(org, None, username=account.username, email=account.email,
                  external_id=account.external_id)
    db.session.add(account)
    db.session.flush()
    link, event, token = invitation_rows(account, actor)
    db.session.add_all([Activation(**link), AuditEvent(**event)])
    db.session.commit()
    activation.send_welcome(account, token)
    return account


def new_invitation(org: Organisation, email: str, username: str, name: str | None, *,
                   external_id: str | None = None, role: str | None = None) -> Account:
    """``invite``'s checks of what was typed, and the new account, not yet in the session.
    Uniqueness is the caller's: ``_check_unique`` (one account) or ``taken`` (a batch)."""
    email, username = _clean_email(email), _clean_username(username)
    name, external_id = _clean_name(name), _clean_external_id(external_id)
    if role is not None and role not in STAFF_ROLES:
        raise Refused(_("Onbekende rol: %(role)s", role=role), "invalid_role")
    now = clock.timestamp()
    return Account(subject=crypto.new_token(24), organisation_id=org.id, username=username,
                   email=email, name=name, status=INVITED, created_at=now, updated_at=now,
                   version=1, role=role, external_id=external_id)


def invitation_rows(account: Account, actor: Actor) -> tuple[dict, dict, str]:
    """For a stored (flushed) new account: the column values of its activation link and of its
    ``account.invite`` event, and the link's token for the welcome e-mail after the commit."""
    link, token = activation.new_link(account)
    event = audit.account_values(actor.name, "account.invite", account, ip=actor.ip,
                                 **_detail(actor, {"role": account.role} if account.role else {}))
    return link, event, token


def resend_invitation(account: Account, actor: Actor) -> None:
    """A new activation link by e-mail; the old one dies at once. Only while not activated."""
    _commit_then(_resend_invitation(account, actor))


def _resend_invitation(account: Account, actor: Actor) -> AfterCommit:
    if account.status != INVITED:
        raise Refused(_("Dit account is al geactiveerd of uitgeschakeld: een nieuwe uitnodiging "
                        "kan alleen zolang het account nog niet is geactiveerd."), "not_pending")
    token = activation.issue_link(account)
    account.touch(clock.timestamp())  # what the account shows changed: when it was invited
    _record(actor, "account.resend", account)
    return [partial(activation.send_welcome, account, token)]


# --- the helpdesk's actions -------------------------------------------------------------------
def unlock(account: Account, actor: Actor) -> None:
    """The account may sign in again at once: the lock and the failed attempts are forgotten."""
    _require_reason(actor)
    was_locked = account.locked_at is not None
    account.locked_at = None
    account.touch(clock.timestamp())
    throttle.forget(account.organisation.code, account.username)
    _record(actor, "account.unlock", account, was_locked=was_locked)
    db.session.commit()
    notices.send(account, notices.UNLOCKED)


def disable(account: Account, actor: Actor) -> None:
    """Signed out everywhere (relying parties hear it by back-channel logout), every token and
    link of the account stops working, and sign-in is refused until ``enable``. Nothing is
    removed. Disabling a disabled account changes nothing."""
    _commit_then(_disable(account, actor))


def _disable(account: Account, actor: Actor) -> AfterCommit:
    _require_reason(actor)
    if account.status == DISABLED:
        return []
    now = clock.timestamp()
    account.status, account.disabled_at = DISABLED, now
    account.touch(now)
    _revoke_everything(account, now)
    _record(actor, "account.disable", account)
    return [partial(_end_sessions_of_disabled, account.id),
            partial(notices.send, account, notices.DISABLED)]


def _end_sessions_of_disabled(account_id: int) -> None:
    ended = sessions.end_all_for(account_id, sessions.ADMIN)
    log.info("account %s disabled; %d session(s) ended", account_id, ended)


def enable(account: Account, actor: Actor) -> None:
    """Sign-in works again (an account never activated is invited again: resend the link).
    Enabling an account that is not disabled changes nothing."""
    _commit_then(_enable(account, actor))


def _enable(account: Account, actor: Actor) -> AfterCommit:
    _require_reason(actor)
    if account.status != DISABLED:
        return []
    account.status = ACTIVE if account.activated_at is not None else INVITED
    account.disabled_at = None
    account.touch(clock.timestamp())
    _record(actor, "account.enable", account)
    return [partial(notices.send, account, notices.ENABLED)]


def end_sessions(account: Account, actor: Actor) -> int:
    """End every sign-in session of the account (back-channel logouts); how many ended."""
    _require_reason(actor)
    ended = sessions.end_all_for(account.id, sessions.ADMIN)
    _record(actor, "account.end_sessions", account, ended=ended)
    db.session.commit()
    if ended:
        notices.send(account, notices.SIGNED_OUT)
    return ended


def reset_authenticator(account: Account, actor: Actor) -> AccountLink:
    """Lost or new phone: the old secret dies at once and every session ends; the account
    holder gets a link to link a new app (the password stays). Where the organisation wants
    four eyes, the link waits for a second staff member's ``approve_reset``."""
    _require_reason(actor)
    if account.status != ACTIVE:
        raise Refused(_("Dit account is niet actief: er is geen app om opnieuw te koppelen."),
                      "not_active")
    now = clock.timestamp()
    account.totp_secret_encrypted = None
    account.touch(now)
    four_eyes = account.organisation.four_eyes_reset and not actor.is_provisioning
    link, token = links.make(account, NEW_AUTHENTICATOR, actor.name, approved=not four_eyes)
    _record(actor, "account.reset_authenticator", account, awaiting_approval=four_eyes)
    db.session.commit()
    sessions.end_all_for(account.id, sessions.ADMIN)
    if token:
        links.send(link, token)
    else:
        notices.send(account, notices.AUTHENTICATOR_REMOVED)
    return link


def approve_reset(link: AccountLink, actor: Actor) -> None:
    """Four eyes: a second staff member (not the one who asked) approves; the link goes out."""
    _require_reason(actor)
    if link.approved_at is not None or link.used_at is not None:
        raise Refused(_("Deze aanvraag is al goedgekeurd of niet meer geldig."), "not_pending")
    if link.expires_at <= clock.timestamp():
        raise Refused(_("Deze aanvraag is verlopen. Vraag een nieuwe aan."), "expired")
    if link.requested_by == actor.name:
        raise Refused(_("Een tweede medewerker moet dit goedkeuren, niet degene die het "
                        "aanvroeg."), "same_person")
    token = links.approve(link, actor.name)
    if token is None:
        raise Refused(_("Deze aanvraag is al goedgekeurd of niet meer geldig."), "not_pending")
    link.account.touch(clock.timestamp())
    _record(actor, "account.approve_reset", link.account, requested_by=link.requested_by)
    db.session.commit()
    links.send(link, token)


def send_password_reset(account: Account, actor: Actor) -> AccountLink:
    """A single-use link to choose a new password, to the account holder's own address."""
    _require_reason(actor)
    if account.status != ACTIVE:
        raise Refused(_("Dit account is niet actief: stuur een nieuwe uitnodiging in plaats "
                        "van een herstellink."), "not_active")
    link, token = links.make(account, PASSWORD_RESET, actor.name)
    _record(actor, "account.password_reset_sent", account)
    db.session.commit()
    links.send(link, token)
    return link


# --- changing and erasing -------------------------------------------------------------------
def update_profile(account: Account, actor: Actor, *, email: str | None = None,
                   name: str | None = None, username: str | None = None,
                   external_id: str | None = None) -> None:
    """Change what is given (None: leave as it is; ``external_id=""`` removes it). The audit
    event names the fields changed, not their values; a new e-mail address or username is told
    to the account holder. A new e-mail address voids the links sent to the old one (an
    invited account then needs ``resend_invitation``): a mistyped or lost mailbox keeps none."""
    _commit_then(_update_profile(account, actor, email=email, name=name, username=username,
                                 external_id=external_id))


def _update_profile(account: Account, actor: Actor, *, email=None, name=None, username=None,
                    external_id=None) -> AfterCommit:
    org = account.organisation
    changes = {}
    for field, value, clean in (("email", email, _clean_email),
                                ("username", username, _clean_username),
                                ("name", name, _clean_name),
                                ("external_id", external_id, _clean_external_id)):
        if value is not None and (cleaned := clean(value)) != getattr(account, field):
            changes[field] = cleaned
    if not changes:
        return []
    _check_unique(org, account, username=changes.get("username"),
                  email=changes.get("email"), external_id=changes.get("external_id"))
    old_email, old_username = account.email, account.username
    for field, value in changes.items():
        setattr(account, field, value)
    now = clock.timestamp()
    account.touch(now)
    if "email" in changes:
        activation.void_links(account, now)
        links.void(account, now)
    _record(actor, "account.update", account, fields=sorted(changes))
    effects = []
    if "email" in changes:
        effects.append(partial(notices.send, account, notices.EMAIL_CHANGED, to=old_email))
    if "username" in changes:
        # The failures counted under the old name do not follow it.
        effects += [partial(throttle.forget, org.code, old_username),
                    partial(notices.send, account, notices.USERNAME_CHANGED)]
    return effects


def change(account: Account, actor: Actor, *, email: str | None = None, name: str | None = None,
           username: str | None = None, external_id: str | None = None,
           active: bool | None = None, resend: bool = False) -> None:
    """``update_profile``, then ``disable`` (``active=False``) or ``enable`` (``active=True``),
    then ``resend_invitation``, as one change: each checked and made in one transaction with one
    commit, the e-mails and back-channel logouts after it. A refusal of any of them rolls the
    transaction back (also whatever the caller did in it) and changes nothing."""
    try:
        effects = _update_profile(account, actor, email=email, name=name, username=username,
                                  external_id=external_id)
        if active is False:
            effects += _disable(account, actor)
        elif active is True:
            effects += _enable(account, actor)
        if resend:
            effects += _resend_invitation(account, actor)
    except Refused:
        db.session.rollback()
        raise
    _commit_then(effects)


def erase(account: Account, actor: Actor) -> None:
    """AVG/GDPR: the account and everything hanging off it are deleted, after its sessions
    ended (relying parties get back-channel logouts). One audit event stays, naming only the
    subject; the events before it already name nothing else."""
    _require_reason(actor)
    sessions.end_all_for(account.id, sessions.ADMIN)
    notice = notices.prepare(account, notices.ERASED)  # rendered while the data is still here
    account_id, org_code, username = account.id, account.organisation.code, account.username
    # Explicit, not only ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
    for model in (AuthorizationCode, RefreshToken, Grant, Activation, AccountLink):
        db.session.execute(delete(model).where(model.account_id == account_id))
    _record(actor, "account.erase", account)
    db.session.execute(delete(Account).where(Account.id == account_id))
    db.session.commit()
    throttle.forget(org_code, username)
    notices.deliver(notice)


def _revoke_everything(account: Account, now: int) -> None:
    """Every grant (also offline ones, which outlive sessions) and every unused link; the
    caller commits."""
    db.session.execute(update(Grant).where(Grant.account_id == account.id,
                                           Grant.revoked_at.is_(None)).values(revoked_at=now))
    activation.void_links(account, now)
    links.void(account, now)
