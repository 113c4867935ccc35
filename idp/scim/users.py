"""The /Users operations (RFC 7644 3.3 to 3.7, 3.14) for one verified caller (idp.scim.auth).

Every query starts from the caller's reach: parents only (never staff), of the caller's own
organisation unless it is service-wide. An id outside that reach is 404, exactly like an id that
does not exist, however the request is phrased. Changes go through idp.accounts.actions, which
checks, changes, audits (actor ``scim:<client_id>``, the client's IP) and tells the parent.
"""

import logging
import re
from typing import Callable

from flask import current_app, json, request
from pydantic import ValidationError
from scim2_models import (Context, ForbiddenException, InvalidFilterException, InvalidSyntaxException,
                          InvalidValueException, ListResponse, NotFoundException, PatchOp,
                          PreconditionFailedException, ResponseParameters, SCIMException,
                          UniquenessException)
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from idp import mail
from idp.accounts import actions
from idp.extensions import db
from idp.models import Account, Organisation
from idp.models.account import DISABLED
from idp.scim import filter as scim_filter
from idp.scim.auth import Caller
from idp.scim.errors import HTTP_DETAILS, MEDIA_TYPE
from idp.scim.resources import ScimUser, Wanted, dump, invitations, parents, to_user, wanted

log = logging.getLogger(__name__)

#: Our ids are account subjects (idp.crypto.new_token): anything else is not ours.
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
ACCEPTED_TYPES = (MEDIA_TYPE, "application/json")
#: How often a PUT or PATCH without If-Match is worked out again when another request changed
#: the User at the same moment (``_write``).
ATTEMPTS = 3
#: Refusals of idp.accounts.actions that mean "someone in the organisation already has that".
DUPLICATES = {"duplicate_username", "duplicate_email", "duplicate_external_id"}


# --- reading the request ----------------------------------------------------------------------
def body() -> dict:
    """The JSON object in the request (RFC 7644 3.1, 3.8), or the reason it is refused."""
    if request.mimetype not in ACCEPTED_TYPES:
        raise _Unsupported()
    raw = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413 (idp.web.scim)
    try:
        parsed = json.loads(raw)
    except ValueError:  # also a body that is not UTF-8
        raise InvalidSyntaxException(detail="The body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    if _has_nul(parsed):
        raise InvalidValueException(detail="A value holds a NUL character.")
    return parsed


class _Unsupported(SCIMException):
    status = 415
    _default_detail = HTTP_DETAILS[415]


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _validated(model, payload: dict, context: Context):
    """scim2-models validation, its errors as RFC 7644 3.12 errors."""
    try:
        return model.model_validate(payload, scim_ctx=context)
    except ValidationError as error:
        raise _from_validation(error) from None


def _from_validation(error: ValidationError) -> SCIMException:
    first = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    detail = f"{where}: {first['msg']}"
    scim_type = (first.get("ctx") or {}).get("scim_type")
    if first["type"] == "extra_forbidden":
        return InvalidSyntaxException(detail=f"{where}: not an attribute of this resource")
    if scim_type:
        exception = SCIMException(detail=detail)
        exception.status, exception.scim_type = int((first.get("ctx") or {}).get("status", 400)), scim_type
        return exception
    return InvalidValueException(detail=detail)


def _whole_number(name: str, raw, default: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if not isinstance(raw, str) or not re.fullmatch(r"-?[0-9]{1,9}", raw.strip()):
        raise InvalidValueException(detail=f"{name} must be a whole number")
    return int(raw)


def _names(raw) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise InvalidValueException(detail="attributes are a comma-separated list of names")
    return [a.strip() for a in raw if a.strip()] or None


def _response_parameters(source=None) -> ResponseParameters | None:
    """RFC 7644 3.4.2.5 ``attributes`` and ``excludedAttributes``, from the query or a body."""
    source = request.args if source is None else source
    chosen = {"attributes": _names(source.get("attributes")),
              "excluded_attributes": _names(source.get("excludedAttributes"))}
    chosen = {key: value for key, value in chosen.items() if value}
    return _validated(ResponseParameters, chosen, Context.DEFAULT) if chosen else None


# --- the caller's reach -----------------------------------------------------------------------
def _reach(caller: Caller):
    query = parents()
    if caller.organisation_id is not None:
        query = query.where(Account.organisation_id == caller.organisation_id)
    return query


def find(caller: Caller, subject: str) -> Account:
    if not ID.fullmatch(subject or ""):
        raise NotFoundException(detail="No such User.")
    account = db.session.scalar(_reach(caller).where(Account.subject == subject))
    if account is None:
        raise NotFoundException(detail="No such User.")
    return account


def user_of(account: Account) -> ScimUser:
    return to_user(account, invitations([account])[account.id])


def check_version(user: ScimUser) -> None:
    """RFC 7644 3.14, RFC 7232 3.1: If-Match, when sent, must name the current version."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = [tag.strip() for tag in header.split(",")]
    current = user.meta.version.removeprefix("W/")
    if "*" not in tags and current not in [tag.removeprefix("W/") for tag in tags]:
        raise _stale()


def _stale() -> PreconditionFailedException:
    return PreconditionFailedException(
        detail="The User has changed since that version; read it again.")


def _claim(account: Account) -> bool:
    """Lock the account for this transaction's change if it is still the version we read
    (and checked If-Match against): the check is the UPDATE itself, so it holds on every
    backend (PostgreSQL's row lock, SQLite's write lock) until the commit. False when another
    request changed or erased it since."""
    claimed = db.session.execute(
        update(Account).where(Account.id == account.id, Account.version == account.version)
        .values(version=Account.version).execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def _claimed(caller: Caller, subject: str, plan: Callable[[ScimUser], Wanted | None]):
    """The account, claimed (``_claim``) for this transaction's change, and what ``plan`` makes
    of the User as it is: read, If-Match checked, the request worked out and checked, then
    claimed. With If-Match, a User changed between the read and the claim is 412; without, the
    request set no precondition, so it is worked out again on the User as it is now."""
    for _attempt in range(ATTEMPTS):
        account = find(caller, subject)
        current = user_of(account)
        check_version(current)
        planned = plan(current)
        if _claim(account):
            return account, planned
        db.session.rollback()
        if request.headers.get("If-Match") is not None:
            break
    raise _stale()


# --- the operations ---------------------------------------------------------------------------
def search(caller: Caller, source=None) -> dict:
    """RFC 7644 3.4.2: filter, startIndex, count, from the query (GET /Users) or the body of
    POST /Users/.search (3.4.3). A count over IDP_SCIM_MAX_RESULTS is answered with that many
    (3.4.2.4 lets the service provider return fewer); ordered by creation; sortBy is ignored
    (ServiceProviderConfig: sort not supported)."""
    source = request.args if source is None else source
    expression = source.get("filter")
    if expression is not None and not isinstance(expression, str):
        raise InvalidFilterException(detail="filter must be a string")
    condition = scim_filter.condition(expression)
    largest = current_app.config["IDP_SCIM_MAX_RESULTS"]
    start = max(_whole_number("startIndex", source.get("startIndex"), 1), 1)
    count = min(max(_whole_number("count", source.get("count"), largest), 0), largest)
    parameters = _response_parameters(source)
    page, counted = statements(caller, condition, start, count)
    total = db.session.scalar(counted)
    accounts = list(db.session.scalars(page)) if count else []
    states = invitations(accounts)
    listed = ListResponse[ScimUser](
        total_results=total, start_index=start, items_per_page=len(accounts),
        resources=[to_user(account, states[account.id]) for account in accounts])
    return listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters)


def statements(caller: Caller, condition, start: int, count: int):
    """The two statements of a search: its page and its totalResults count (also what
    bench/scim.py has PostgreSQL explain)."""
    matching = _reach(caller).where(condition)
    return (matching.order_by(Account.id).offset(start - 1).limit(count),
            select(func.count()).select_from(matching.subquery()))


def get(caller: Caller, subject: str) -> ScimUser:
    return user_of(find(caller, subject))


def present(user: ScimUser, context=Context.RESOURCE_QUERY_RESPONSE) -> dict:
    return dump(user, context, response_parameters=_response_parameters())


def create(caller: Caller, payload: dict) -> ScimUser:
    """RFC 7644 3.3: a pending account and its welcome e-mail."""
    new = wanted(_validated(ScimUser, payload, Context.RESOURCE_CREATION_REQUEST))
    organisation = _organisation_for(caller, new.organisation)
    _checked(new)
    actor = caller.actor
    try:
        account = actions.invite(organisation, new.email, new.username, new.name, actor,
                                 external_id=new.external_id)
    except actions.Refused as refused:
        raise _refusal(refused) from None
    except IntegrityError:  # a create of the same userName or externalId at the same moment
        db.session.rollback()
        raise UniquenessException(detail="userName or externalId is already in use.") from None
    except mail.MailError as error:
        # The account exists; a client that retried would only meet a 409. It can resend.
        log.warning("SCIM create: welcome e-mail not sent: %s", error)
        account = db.session.scalar(_reach(caller).where(
            Account.organisation_id == organisation.id, Account.username == new.username))
    if not new.active:
        actions.disable(account, actor)
    return user_of(account)


def replace(caller: Caller, subject: str, payload: dict) -> ScimUser:
    """RFC 7644 3.5.1: PUT, what is left out is cleared (organisation is immutable)."""
    def plan(current: ScimUser) -> Wanted:  # after find: an id not ours is 404 whatever the body
        new = _validated(ScimUser, payload, Context.RESOURCE_REPLACEMENT_REQUEST)
        try:
            new.replace(current)
        except (ValueError, TypeError) as error:
            raise InvalidValueException(detail=str(error)) from None
        return _checked(wanted(new, current))

    return _apply(caller, *_claimed(caller, subject, plan))


def patch(caller: Caller, subject: str, payload: dict) -> ScimUser:
    """RFC 7644 3.5.2: add, replace and remove, applied by scim2-models to the current User;
    all of them or, on any error, none."""
    def plan(current: ScimUser) -> Wanted:  # after find: an id not ours is 404 whatever the body
        operations = _validated(PatchOp[ScimUser], payload, Context.RESOURCE_PATCH_REQUEST)
        patched = current.model_copy(deep=True)
        try:
            operations.patch(patched)
        except (ValueError, TypeError) as error:
            raise InvalidValueException(detail=str(error)) from None
        return _checked(wanted(patched, current))

    return _apply(caller, *_claimed(caller, subject, plan))


def delete(caller: Caller, subject: str) -> None:
    """RFC 7644 3.6: erase, as the console's delete does."""
    account, _nothing = _claimed(caller, subject, lambda current: None)
    actions.erase(account, caller.actor)


# --- applying a change ------------------------------------------------------------------------
def _organisation_for(caller: Caller, code: str | None) -> Organisation:
    if caller.organisation_id is not None:
        organisation = db.session.get(Organisation, caller.organisation_id)
        if code is not None and code != organisation.code:
            raise ForbiddenException(detail=f"This client provisions {organisation.code} only.")
        return organisation
    if not code:
        raise InvalidValueException(
            detail="A service-wide client names the organisation "
                   "(urn:ppo:params:scim:schemas:extension:ouderportaal:2.0:User:organisation).")
    organisation = db.session.scalar(select(Organisation).where(Organisation.code == code))
    if organisation is None:
        raise InvalidValueException(detail=f"No organisation {code!r}.")
    return organisation


def _checked(new: Wanted) -> Wanted:
    """What SCIM itself requires; the accounts layer checks every value (idp.accounts.actions)."""
    if not new.email:
        raise InvalidValueException(detail="emails: a parent needs an e-mail address.")
    if not new.username:
        raise InvalidValueException(detail="userName is required.")
    return new


#: RFC 7644 3.12 details for the accounts layer's refusals (``Refused.code``): its own
#: sentences are Dutch, for staff; a SCIM client is a program, read by its developers. The
#: limits are the accounts layer's own, so the two cannot disagree.
REFUSALS = {
    "invalid_email": "emails: not a valid e-mail address.",
    "invalid_username": f"userName: 1 to {actions.MAX_USERNAME} characters, without spaces or "
                        "control characters.",
    "invalid_name": f"name: at most {actions.MAX_NAME} characters.",
    "invalid_external_id": f"externalId: 1 to {actions.MAX_EXTERNAL_ID} characters, not only "
                           "spaces.",
    "duplicate_username": "userName: another User of this organisation already has it.",
    "duplicate_email": "emails: another User of this organisation already has this address "
                       "(in any case).",
    "duplicate_external_id": "externalId: another User of this organisation already has it.",
    "not_pending": "resendInvitation: only while the invitation is pending or expired (not "
                   "after the User activated the account, nor while it is disabled).",
}


def _refusal(refused: actions.Refused) -> SCIMException:
    detail = REFUSALS.get(refused.code, f"The change was refused ({refused.code}).")
    if refused.code in DUPLICATES:
        return UniquenessException(detail=detail)
    return InvalidValueException(detail=detail)


def _apply(caller: Caller, account: Account, new: Wanted) -> ScimUser:
    """Make the account what a PUT or PATCH asked, as one change (idp.accounts.actions.change):
    all of it, or on a refusal nothing (the claim too). Audited per action, one commit."""
    profile = {}
    for field in ("username", "email", "name", "external_id"):
        value = getattr(new, field)
        if value != getattr(account, field):
            # The accounts layer takes None as "leave it": "" clears the name or externalId.
            profile[field] = value if value is not None else ""
    active = None
    if new.active == (account.status == DISABLED):
        active = new.active
    try:
        actions.change(account, caller.actor, **profile, active=active, resend=new.resend)
    except actions.Refused as refused:
        raise _refusal(refused) from None
    except IntegrityError:  # another request took the userName or externalId at this moment
        db.session.rollback()
        raise UniquenessException(detail="userName or externalId is already in use.") from None
    except mail.MailError as error:
        log.warning("SCIM: e-mail to the parent not sent: %s", error)
        raise _MailDown() from None
    return user_of(account)


class _MailDown(SCIMException):
    status = 503
    _default_detail = ("The change is made, but the e-mail to the parent could not be sent; "
                       "send it again with resendInvitation.")
