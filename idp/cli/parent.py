"""``idp parent``: parent accounts, with the same rules and audit entries as the staff console
(idp.accounts.actions). A parent is named as ``--org CODE USERNAME``; the helpdesk's actions
take ``--reason``; the ones that cannot be undone ask first unless given ``--yes``."""

import click
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select

from idp import mail, sessions
from idp.accounts import actions
from idp.accounts.actions import Actor, Refused
from idp.cli.audit import actor_option
from idp.cli.org import find as find_org
from idp.cli.table import echo_table, when
from idp.extensions import db
from idp.models import Account, AccountLink, Activation, AuditEvent
from idp.models.account import INVITED

MAX_REASON = 500


@click.group("parent")
def group():
    """Parent accounts."""


def org_option(command):
    return click.option("--org", "org_code", required=True, metavar="CODE",
                        help="Organisation code, e.g. PO2806.")(command)


def _reason(ctx, param, value):
    value = (value or "").strip()
    if not value or len(value) > MAX_REASON or not value.isprintable():
        raise click.BadParameter(f"give a ticket number or a short note (1 to {MAX_REASON} "
                                 "printable characters)")
    return value


def reason_option(command):
    return click.option("--reason", required=True, callback=_reason, metavar="TEXT",
                        help="Why: a ticket number or a short note, for the audit log.")(command)


def yes_option(command):
    return click.option("--yes", is_flag=True, help="Do not ask for confirmation.")(command)


def find_account(org_code: str, username: str, *, staff: bool = False) -> Account:
    org = find_org(org_code)
    account = db.session.scalar(
        select(Account).where(Account.organisation_id == org.id, Account.username == username,
                              Account.role.isnot(None) if staff else Account.role.is_(None))
    )
    if account is None:
        kind = "staff member" if staff else "parent"
        raise click.ClickException(
            f"No {kind} {username!r} in {org_code} (usernames are case-sensitive).")
    return account


def run(action, *args, **kwargs):
    """An action, with its refusal or a mail failure as a clear error instead of a traceback."""
    try:
        return action(*args, **kwargs)
    except Refused as error:
        raise click.ClickException(str(error)) from None
    except mail.MailError as error:
        raise click.ClickException(
            f"Done, but the e-mail could not be sent ({error}). Fix IDP_SMTP_URL and run this "
            "command again: it sends a new link.") from None


def confirm(yes: bool, question: str) -> None:
    if not yes:
        click.confirm(question, abort=True)


@group.command("invite")
@org_option
@click.option("--email", required=True)
@click.option("--username", default=None,
              help="Case-sensitive, e.g. Yvonne.testouder (default: made from --name).")
@click.option("--name", default=None, help="The parent's name, for e-mails and pages.")
@click.option("--external-id", default=None, help="Another system's id for this parent.")
@actor_option
@with_appcontext
def invite(org_code, email, username, name, external_id, actor):
    """Create the account (not yet active) and send the welcome e-mail with the activation link.

    Inviting a not-yet-active account again sends a new link and voids the old one.
    """
    org = find_org(org_code)
    if not username and not name:
        raise click.UsageError("give --username, or --name to make one from")
    username = username or actions.suggest_username(org, name)
    existing = db.session.scalar(
        select(Account).where(Account.organisation_id == org.id, Account.username == username))
    try:
        if existing is not None and existing.status == INVITED and existing.role is None:
            actions.change(existing, Actor(actor), email=email, name=name, resend=True)
            account = existing
        else:
            account = actions.invite(org, email, username, name, Actor(actor),
                                     external_id=external_id)
    except Refused as error:
        raise click.ClickException(str(error)) from None
    except mail.MailError as error:
        raise click.ClickException(
            f"{username} ({org_code}) is invited, but the welcome e-mail could not be sent "
            f"({error}). Fix IDP_SMTP_URL and run this command again: it sends a new link."
        ) from None
    click.echo(f"Invited {account.username} ({org_code}); the welcome e-mail went to {account.email}.")


@group.command("list")
@org_option
@click.option("--status", type=click.Choice(["invited", "active", "disabled", "locked"]),
              help="Only parents in this state.")
@click.option("--search", metavar="TEXT", help="Part of the name, username or e-mail address.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def list_(org_code, status, search, limit):
    """The organisation's parents, by username."""
    org = find_org(org_code)
    query = (select(Account).where(Account.organisation_id == org.id, Account.role.is_(None))
             .order_by(Account.username).limit(limit))
    if status == "locked":
        query = query.where(Account.locked_at.isnot(None))
    elif status:
        query = query.where(Account.status == status)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(Account.username).like(pattern),
                                func.lower(Account.email).like(pattern),
                                func.lower(Account.name).like(pattern)))
    rows = [(a.username, a.name or "-", a.email, a.status + (" (locked)" if a.locked_at else ""),
             when(a.last_sign_in_at)) for a in db.session.scalars(query)]
    echo_table(("username", "name", "email", "status", "last sign-in"), rows)


@group.command("show")
@org_option
@click.argument("username")
@with_appcontext
def show(org_code, username):
    """One parent: state, invitations, links, sessions and audit trail (never a secret)."""
    describe(find_account(org_code, username))


def describe(account: Account) -> None:
    facts = [
        ("username", account.username), ("name", account.name or "-"), ("email", account.email),
        ("subject", account.subject), ("status", account.status),
        ("locked", when(account.locked_at) if account.locked_at else "no"),
        ("authenticator", "linked" if account.totp_secret_encrypted else "none"),
        ("created", when(account.created_at)), ("activated", when(account.activated_at)),
        ("disabled", when(account.disabled_at)), ("last sign-in", when(account.last_sign_in_at)),
        ("sessions", str(len(sessions.live_for(account.id)))),
    ]
    if account.role:
        facts.insert(3, ("role", account.role))
    if account.external_id:
        facts.append(("external id", account.external_id))
    for label, value in facts:
        click.echo(f"{label + ':':15}{value}")
    invitations = db.session.scalars(select(Activation).where(Activation.account_id == account.id)
                                      .order_by(Activation.id)).all()
    if invitations:
        click.echo("\nInvitations:")
        echo_table(("sent", "opened", "used", "expires"),
                   [(when(a.issued_at), when(a.opened_at), when(a.used_at), when(a.expires_at))
                    for a in invitations])
    account_links = db.session.scalars(select(AccountLink).where(
        AccountLink.account_id == account.id).order_by(AccountLink.id)).all()
    if account_links:
        click.echo("\nLinks:")
        echo_table(("purpose", "asked by", "approved by", "sent", "opened", "used", "expires"),
                   [(link.purpose, link.requested_by, link.approved_by or "(waiting)",
                     when(link.approved_at), when(link.opened_at), when(link.used_at),
                     when(link.expires_at)) for link in account_links])
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.target == account.subject)
                                .order_by(AuditEvent.id.desc()).limit(20)).all()
    if events:
        click.echo("\nAudit trail (latest first):")
        echo_table(("at", "actor", "action", "reason"),
                   [(when(e.at), e.actor, e.action, (e.detail or {}).get("reason", ""))
                    for e in events])


@group.command("resend")
@org_option
@click.argument("username")
@actor_option
@with_appcontext
def resend(org_code, username, actor):
    """A new activation link by e-mail; the old one stops working at once."""
    account = find_account(org_code, username)
    run(actions.resend_invitation, account, Actor(actor))
    click.echo(f"Sent a new invitation to {username} ({org_code}); the old link no longer works.")


@group.command("unlock")
@org_option
@click.argument("username")
@reason_option
@actor_option
@with_appcontext
def unlock(org_code, username, reason, actor):
    """Let a parent whose account was locked by failed sign-ins sign in again at once."""
    account = find_account(org_code, username)
    was_locked = account.locked_at is not None
    run(actions.unlock, account, Actor(actor, reason=reason))
    click.echo(f"Unlocked {username} ({org_code})" + ("." if was_locked else
               "; it was not locked by the helpdesk limit, its failed attempts are forgotten."))


@group.command("logout")
@org_option
@click.argument("username")
@reason_option
@actor_option
@with_appcontext
def logout(org_code, username, reason, actor):
    """End every sign-in session of this parent now (relying parties hear of it by
    back-channel logout; refresh tokens bound to the sessions stop working)."""
    account = find_account(org_code, username)
    ended = run(actions.end_sessions, account, Actor(actor, reason=reason))
    click.echo(f"Ended {ended} session(s) of {username} ({org_code}).")


@group.command("reset-authenticator")
@org_option
@click.argument("username")
@reason_option
@yes_option
@actor_option
@with_appcontext
def reset_authenticator(org_code, username, reason, yes, actor):
    """Lost or new phone: the old app's codes stop working at once, the sessions end, and the
    parent gets a link to link a new app (the password stays). Where the organisation wants
    four eyes, the link waits for `idp parent approve-reset` by someone else."""
    account = find_account(org_code, username)
    confirm(yes, f"Unlink the authenticator app of {username} ({org_code}) and sign them out?")
    link = run(actions.reset_authenticator, account, Actor(actor, reason=reason))
    if link.approved_at is None:
        click.echo(f"The old app of {username} ({org_code}) no longer works. The link waits for "
                   "a second person's approval: idp parent approve-reset.")
    else:
        click.echo(f"The old app of {username} ({org_code}) no longer works; a link to link a "
                   f"new one went to {account.email}.")


@group.command("approve-reset")
@org_option
@click.argument("username")
@reason_option
@actor_option
@with_appcontext
def approve_reset(org_code, username, reason, actor):
    """Four eyes: approve another person's authenticator reset; the link goes out."""
    from idp.accounts import links

    account = find_account(org_code, username)
    link = links.pending_approval(account)
    if link is None:
        raise click.ClickException(f"No reset of {username} ({org_code}) is waiting for approval.")
    run(actions.approve_reset, link, Actor(actor, reason=reason))
    click.echo(f"Approved; the link to link a new app went to {account.email}.")


@group.command("reset-password")
@org_option
@click.argument("username")
@reason_option
@actor_option
@with_appcontext
def reset_password(org_code, username, reason, actor):
    """E-mail the parent a single-use link to choose a new password (code still needed)."""
    account = find_account(org_code, username)
    run(actions.send_password_reset, account, Actor(actor, reason=reason))
    click.echo(f"A link to choose a new password went to {account.email}.")


@group.command("disable")
@org_option
@click.argument("username")
@reason_option
@yes_option
@actor_option
@with_appcontext
def disable(org_code, username, reason, yes, actor):
    """Sign the parent out everywhere and refuse sign-in until `idp parent enable`."""
    account = find_account(org_code, username)
    confirm(yes, f"Disable {username} ({org_code}) and sign them out everywhere?")
    run(actions.disable, account, Actor(actor, reason=reason))
    click.echo(f"Disabled {username} ({org_code}).")


@group.command("enable")
@org_option
@click.argument("username")
@reason_option
@actor_option
@with_appcontext
def enable(org_code, username, reason, actor):
    """Let a disabled parent sign in again."""
    account = find_account(org_code, username)
    run(actions.enable, account, Actor(actor, reason=reason))
    click.echo(f"Enabled {username} ({org_code}).")


@group.command("delete")
@org_option
@click.argument("username")
@reason_option
@yes_option
@actor_option
@with_appcontext
def delete(org_code, username, reason, yes, actor):
    """Erase the parent's account and personal data (AVG/GDPR); relying parties are told by
    back-channel logout. The audit log keeps only the account's random subject."""
    account = find_account(org_code, username)
    confirm(yes, f"Erase {username} ({org_code}) for good? This cannot be undone.")
    subject = account.subject
    run(actions.erase, account, Actor(actor, reason=reason))
    click.echo(f"Erased the account (subject {subject}).")
