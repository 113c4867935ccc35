"""Bulk invitations from a CSV file: reading the file, the dry run (what will happen to each
row, and what is wrong with it), and carrying it out through ``accounts.actions``.

The file has a header row with the columns ``email``, ``name``, ``username`` (optional: then
suggested from the name) and ``external_id`` (optional), separated by ``;`` (what Dutch Excel
writes) or ``,``; UTF-8 with or without a byte-order mark (Windows-1252, Excel's other "CSV",
is read too, with a notice).

A row is matched to an existing account by its external id, username or e-mail address, so
importing the same file twice invites nobody twice: the second run skips every row. The plan
is made fresh from the database right before it is carried out, never reused from an earlier
dry run. Invitations are made by the rules of ``actions.invite`` (its checks, its audit event,
its welcome e-mail), ``BATCH`` to a transaction with set-based queries (see ``_batch``), and
their welcome e-mails go out once their batch is committed: an import that stops half-way (a
crash, the SMTP server gone) leaves whole batches behind, and running the file again finishes it.
"""

import csv
import hashlib
import io
import queue
import re
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from idp import audit, clock, mail
from idp.accounts import actions
from idp.accounts.actions import MAX_EXTERNAL_ID, MAX_NAME, MAX_USERNAME, is_email
from idp.extensions import db
from idp.flows import activation
from idp.models import Account, Activation, AuditEvent, Organisation
from idp.models.account import ACTIVE, DISABLED, INVITED

#: A file with more rows is refused as a whole (split it): the dry run is shown in one page.
MAX_ROWS = 50_000

#: Header names as staff write them (lower case, spaces and dashes as underscores).
COLUMNS = {
    "email": "email", "e_mail": "email", "emailadres": "email", "e_mailadres": "email",
    "mail": "email",
    "username": "username", "gebruikersnaam": "username",
    "name": "name", "naam": "name", "volledige_naam": "name",
    "external_id": "external_id", "externe_id": "external_id", "externalid": "external_id",
    "id": "external_id",
}

# What happens to a row.
INVITE, RESEND, SKIP, ERROR = "invite", "resend", "skip", "error"


class FileProblem(Exception):
    """The file as a whole cannot be read; the text (Dutch) says why. Nothing was changed."""


@dataclass
class Row:
    line: int  # as Excel numbers it: the header is line 1
    email: str
    name: str
    username: str
    external_id: str


@dataclass
class Step:
    """What the import does (or did) with one row: ``action`` and, for staff, ``message``."""
    row: Row
    action: str
    code: str  # why, for programs and tests: "new", "already_invited", "bad_email", ...
    message: str
    username: str = ""  # the account's username: given, suggested, or the existing one
    account_id: int | None = None


@dataclass
class Plan:
    steps: list[Step]
    notices: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counted = Counter(step.action for step in self.steps)
        return {action: counted.get(action, 0) for action in (INVITE, RESEND, SKIP, ERROR)}

    @property
    def errors(self) -> list[Step]:
        return [step for step in self.steps if step.action == ERROR]

    @property
    def work(self) -> list[Step]:
        return [step for step in self.steps if step.action in (INVITE, RESEND)]

    def fingerprint(self) -> str:
        """Changes when any row's outcome changes: a confirmation shown for one dry run must
        not carry out a different one."""
        digest = hashlib.sha256()
        for step in self.steps:
            digest.update(f"{step.row.line}\0{step.action}\0{step.code}\0{step.username}\n".encode())
        return digest.hexdigest()[:32]


@dataclass
class Outcome:
    """What an import did: the steps as carried out (an invitation refused at the last moment
    becomes an error), and where it stopped if it could not finish."""
    steps: list[Step]
    stopped_at: Step | None = None

    def counts(self) -> dict[str, int]:
        return Plan(self.steps).counts()


# --- reading the file --------------------------------------------------------------------------
def read(data: bytes) -> tuple[list[Row], list[str]]:
    """The rows of a CSV file, and notices about how it was read; FileProblem if it cannot be."""
    notices = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        notices.append("Het bestand is niet in UTF-8 opgeslagen; het is gelezen als Windows-tekst "
                       "(Excel: 'CSV (gescheiden door lijstscheidingsteken)'). Kijk de namen met "
                       "accenten na, of sla het op als 'CSV UTF-8'.")
    if "\0" in text:
        raise FileProblem("Dit is geen CSV-bestand. Sla het bestand in Excel op als 'CSV UTF-8'.")
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise FileProblem("Het bestand is leeg.")
    header_line = lines[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    if "\t" in header_line and not (";" in header_line or "," in header_line):
        delimiter = "\t"
    reader = csv.reader(io.StringIO(text.lstrip("\r\n")), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
    except csv.Error:
        raise FileProblem("De eerste regel van het bestand is niet te lezen.") from None
    columns = _columns(header, notices)
    rows = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise FileProblem(f"Het bestand heeft meer dan {MAX_ROWS} regels. Splits het in "
                              "kleinere bestanden.")
        cell = {name: (values[index].strip() if index < len(values) else "")
                for name, index in columns.items()}
        rows.append(Row(line=reader.line_num, email=cell.get("email", ""),
                        name=" ".join(cell.get("name", "").split()),
                        username=cell.get("username", ""), external_id=cell.get("external_id", "")))
    if not rows:
        raise FileProblem("Het bestand heeft geen regels onder de kopregel.")
    return rows, notices


def _columns(header: list[str], notices: list[str]) -> dict[str, int]:
    columns, ignored = {}, []
    for index, title in enumerate(header):
        key = re.sub(r"[\s\-]+", "_", title.strip().strip('"').lower())
        name = COLUMNS.get(key)
        if name is None or name in columns:
            if title.strip():
                ignored.append(title.strip())
            continue
        columns[name] = index
    if "email" not in columns:
        raise FileProblem("De kopregel heeft geen kolom 'email'. De eerste regel van het bestand "
                          "moet de kolomnamen geven: email, name, username (mag leeg), "
                          "external_id (mag leeg).")
    if "name" not in columns and "username" not in columns:
        raise FileProblem("De kopregel heeft geen kolom 'name' of 'username': zonder naam kan "
                          "geen gebruikersnaam worden voorgesteld.")
    if ignored:
        notices.append("Deze kolommen worden niet gebruikt: " + ", ".join(ignored) + ".")
    return columns


# --- the dry run -------------------------------------------------------------------------------
@dataclass
class _Known:
    """The organisation's accounts, as far as matching rows needs them (one query)."""
    by_username: dict[str, tuple]
    by_email: dict[str, tuple]
    by_external_id: dict[str, tuple]
    expired: set[int]  # invited accounts whose newest link has expired

    @classmethod
    def load(cls, org: Organisation) -> "_Known":
        by_username, by_email, by_external_id = {}, {}, {}
        rows = db.session.execute(
            select(Account.id, Account.username, Account.email, Account.external_id,
                   Account.status, Account.role)
            .where(Account.organisation_id == org.id).order_by(Account.id))
        for row in rows:
            by_username[row.username] = row
            by_email.setdefault(row.email.lower(), row)
            if row.external_id:
                by_external_id[row.external_id] = row
        newest = (select(Activation.account_id, func.max(Activation.expires_at).label("until"))
                  .join(Account, Account.id == Activation.account_id)
                  .where(Account.organisation_id == org.id, Account.status == INVITED)
                  .group_by(Activation.account_id)).subquery()
        now = clock.timestamp()
        expired = set(db.session.scalars(select(newest.c.account_id).where(newest.c.until <= now)))
        return cls(by_username, by_email, by_external_id, expired)


def plan(org: Organisation, rows: list[Row], *, resend_expired: bool = False) -> Plan:
    """What importing ``rows`` into ``org`` would do, row by row. Reads, never writes.

    ``resend_expired``: an invited parent whose link has expired gets a new one (otherwise the
    row is skipped). A re-run stays idempotent: the new link has not expired.
    """
    known = _Known.load(org)
    # Usernames the file asks for, so a suggested one never takes a later row's.
    wanted = {row.username for row in rows if row.username}
    seen_email, seen_username, seen_external = {}, {}, {}
    steps = []
    for row in rows:
        step = _check(row, seen_email, seen_username, seen_external)
        if step is None:
            step = _match(row, known, wanted, resend_expired)
        if step.action != ERROR or step.code != "duplicate_in_file":
            seen_email.setdefault(row.email.lower(), row.line)
            if step.username:
                seen_username.setdefault(step.username, row.line)
                wanted.add(step.username)
            if row.external_id:
                seen_external.setdefault(row.external_id, row.line)
        steps.append(step)
    return Plan(steps)


def _error(row: Row, code: str, message: str) -> Step:
    return Step(row, ERROR, code, message)


def _check(row: Row, seen_email, seen_username, seen_external) -> Step | None:
    """The row on its own, and against the rows above it."""
    if not row.email:
        return _error(row, "missing_email", "Het e-mailadres ontbreekt.")
    if not is_email(row.email):
        return _error(row, "bad_email", f"'{row.email}' is geen geldig e-mailadres.")
    if row.username and (len(row.username) > MAX_USERNAME
                         or any(c.isspace() or not c.isprintable() for c in row.username)):
        return _error(row, "bad_username", f"De gebruikersnaam '{row.username}' kan niet: "
                      f"gebruik 1 tot {MAX_USERNAME} tekens zonder spaties.")
    if not row.username and not row.name:
        return _error(row, "missing_name", "Geef een naam of een gebruikersnaam.")
    if len(row.name) > MAX_NAME or not row.name.isprintable():
        return _error(row, "bad_name", f"De naam is te lang of bevat vreemde tekens "
                      f"(hoogstens {MAX_NAME} tekens).")
    if len(row.external_id) > MAX_EXTERNAL_ID or not row.external_id.isprintable():
        return _error(row, "bad_external_id", f"De external_id is te lang (hoogstens "
                      f"{MAX_EXTERNAL_ID} tekens) of bevat vreemde tekens.")
    for value, seen, what in ((row.email.lower(), seen_email, "Dit e-mailadres"),
                              (row.username, seen_username, "Deze gebruikersnaam"),
                              (row.external_id, seen_external, "Deze external_id")):
        if value and value in seen:
            return _error(row, "duplicate_in_file",
                          f"{what} staat al in regel {seen[value]} van het bestand.")
    return None


def _match(row: Row, known: _Known, wanted: set[str], resend_expired: bool) -> Step:
    """The row against the organisation's accounts."""
    by_external = known.by_external_id.get(row.external_id) if row.external_id else None
    by_username = known.by_username.get(row.username) if row.username else None
    by_email = known.by_email.get(row.email.lower())
    account = by_external or by_username or by_email
    if account is None:
        username = row.username or _suggest(row.name, known, wanted)
        return Step(row, INVITE, "new", f"Wordt uitgenodigd als {username}.", username)
    if account.email.lower() != row.email.lower():
        if account is by_external:
            return _error(row, "existing_account", f"Deze external_id hoort al bij "
                          f"{account.username}, met een ander e-mailadres.")
        return _error(row, "duplicate_username", f"De gebruikersnaam {row.username} is in deze "
                      "organisatie al in gebruik, met een ander e-mailadres.")
    if row.username and account.username != row.username:
        return _error(row, "existing_account", f"Er is al een account met dit e-mailadres, met "
                      f"gebruikersnaam {account.username}.")
    if row.external_id and account.external_id and account.external_id != row.external_id:
        return _error(row, "existing_account", f"Er is al een account met dit e-mailadres "
                      f"({account.username}), met een andere external_id.")
    found = dict(username=account.username, account_id=account.id)
    if account.role is not None:
        return Step(row, ERROR, "staff_account", f"Dit is het account van een medewerker "
                    f"({account.username}); dat wordt niet als ouder uitgenodigd.", **found)
    if account.status == ACTIVE:
        return Step(row, SKIP, "already_active", f"Heeft al een actief account "
                    f"({account.username}).", **found)
    if account.status == DISABLED:
        return Step(row, SKIP, "disabled", f"Het account {account.username} is uitgeschakeld; "
                    "zet het aan op de pagina van de ouder.", **found)
    if account.id in known.expired:
        if resend_expired:
            return Step(row, RESEND, "expired", f"De uitnodiging was verlopen: {account.username} "
                        "krijgt een nieuwe.", **found)
        return Step(row, SKIP, "expired", f"Al uitgenodigd als {account.username}, maar de link "
                    "is verlopen (kies 'verlopen uitnodigingen opnieuw sturen').", **found)
    return Step(row, SKIP, "already_invited", f"Al uitgenodigd als {account.username}; de "
                "uitnodiging is nog geldig.", **found)


def _suggest(name: str, known: _Known, wanted: set[str]) -> str:
    """``actions.suggest_username`` against the accounts already loaded (no query per row),
    also unique among the file's own usernames."""
    return actions.first_free(actions.username_base(name), _Either(known.by_username, wanted))


class _Either:
    """``in`` either collection (no copy of 10,000 usernames per row)."""

    def __init__(self, *collections):
        self.collections = collections

    def __contains__(self, item) -> bool:
        return any(item in collection for collection in self.collections)


# --- carrying it out ---------------------------------------------------------------------------
Progress = Callable[[int, int], None]

#: Invitations per transaction: one query checks the batch's usernames, addresses and
#: external ids, one INSERT each stores its accounts, links and audit events, one commit; then
#: its welcome e-mails go out over one SMTP connection.
BATCH = 200


def run(org: Organisation, data: bytes, actor: actions.Actor, *, resend_expired: bool = False,
        progress: Progress | None = None, source: str = "", planned: Plan | None = None) -> Outcome:
    """Invite every row the dry run would invite, now. Rows with a problem are left alone.

    Batches of ``BATCH`` rows, each one transaction: nothing of a batch is committed, and none
    of its e-mails sent, until all of it is done, so an import that crashes leaves whole
    batches behind and running the file again finishes it. One audit event for the import as a
    whole (``account.bulk_import``: counts, the file's SHA-256), besides each invitation's own.
    ``planned``: the plan of ``data`` the caller has just made (and compared), not made again.
    """
    current = planned or plan(org, read(data)[0], resend_expired=resend_expired)
    outcome = Outcome(list(current.steps))
    todo = current.work
    carried_out = []  # (batch, its steps as done): a batch's e-mails may still fail its rows
    with _Sender() as sender:
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            try:
                done, mails = _batch(org, batch, actor, sender.ready)
            except mail.MailError:  # unreachable before the batch was committed: none of it done
                carried_out.append((batch, [Step(batch[0].row, ERROR, "mail_unavailable",
                                                 MAIL_UNAVAILABLE, batch[0].username)]))
                outcome.stopped_at = carried_out[-1][1][0]
                break
            except _Stopped:  # the previous batch's e-mails failed: this one was not committed
                break
            carried_out.append((batch, done))
            sender.send(mails, done)
            if progress:
                progress(min(start + BATCH, len(todo)), len(todo))
    outcome.stopped_at = outcome.stopped_at or sender.failed
    position = {id(step): n for n, step in enumerate(outcome.steps)}
    for later in todo:  # rows after a stop; the rest are overwritten below
        outcome.steps[position[id(later)]] = Step(later.row, SKIP, "not_reached", NOT_REACHED,
                                                  later.username)
    for batch, done in carried_out:
        for step, result in zip(batch, done):
            outcome.steps[position[id(step)]] = result
    audit.record(actor.name, "account.bulk_import", org.code, organisation_id=org.id,
                 ip=actor.ip, source=source[:200], sha256=hashlib.sha256(data).hexdigest(),
                 rows=len(current.steps), stopped=outcome.stopped_at is not None,
                 **outcome.counts())
    db.session.commit()
    return outcome


def _batch(org: Organisation, batch: list[Step], actor: actions.Actor,
           before_commit: Callable[[], None]) -> tuple[list[Step], list]:
    """Carry out ``batch`` in one transaction; the steps as done, and the e-mails to send.

    Why not ``actions.invite`` per row: its three uniqueness queries, its INSERTs and its
    e-mail cost ~8 round trips to the database per row, which made 10,000 rows take minutes.
    Here the same rules (``actions.new_invitation``, ``taken``, ``invitation_rows``) run for
    the whole batch: one query for the clashes and one INSERT per table.

    A row refused at the last moment (someone changed the organisation since the plan: another
    import, the console) becomes an error and the rest is done. The unique constraints are the
    last guard: if they refuse the batch (another transaction stored a clash after our check),
    the batch is rolled back and done again one row at a time, to find the row; a refusal that
    leaves changes behind (a resend) rolls the batch back too. So a refusal never leaves half an
    invitation in the batch's transaction.
    """
    refused: dict[int, Step] = {}
    one_by_one = False
    while True:
        with _one_transaction() as session:
            here = session.get(Organisation, org.id)
            try:
                done, mails = _carry_out(here, batch, actor, dict(refused), one_by_one)
            except _RowRefused as refusal:
                refused[refusal.index] = refusal.step
                continue
            except IntegrityError:
                if one_by_one:
                    raise
                one_by_one = True
                continue
            before_commit()  # a mail server that is down stops us before the commit
            session.commit_batch()
            return done, mails


class _RowRefused(Exception):
    """Row ``index`` of the batch was refused after the batch's transaction changed things."""

    def __init__(self, index: int, step: "Step"):
        super().__init__(step.code)
        self.index, self.step = index, step


def _carry_out(org: Organisation, batch: list[Step], actor: actions.Actor,
               done: dict[int, Step], one_by_one: bool) -> tuple[list[Step], list]:
    """The batch's rows in the current transaction (not committed); ``done`` has the rows
    already refused. The steps in batch order, and (message, index) per e-mail to send."""
    mails = []
    new = []  # (index, account not yet stored)
    for n, step in enumerate(batch):
        if n in done:
            continue
        row = step.row
        if step.action == RESEND:
            done[n], sent = _resend(n, step, actor)
            mails += [(message, n) for message in sent]
            continue
        try:
            new.append((n, actions.new_invitation(org, row.email, step.username, row.name or None,
                                                  external_id=row.external_id or None)))
        except actions.Refused as refusal:
            done[n] = _refused(step, refusal)
    clashes = actions.taken(org, [account for _, account in new])
    for position in clashes:
        n = new[position][0]
        done[n] = _refused(batch[n], clashes[position])
    new = [(n, account) for position, (n, account) in enumerate(new) if position not in clashes]
    _store(new, batch, one_by_one)
    links, events = [], []
    for n, account in new:
        link, event, token = actions.invitation_rows(account, actor)
        links.append(link)
        events.append(event)
        mails.append((activation.welcome(account, token), n))
        done[n] = Step(batch[n].row, INVITE, "invited", f"Uitgenodigd als {account.username}.",
                       account.username, account.id)
    if new:  # one executemany each (no RETURNING: nothing reads them back)
        db.session.execute(insert(Activation), links)
        db.session.execute(insert(AuditEvent), events)
    return [done[n] for n in range(len(batch))], sorted(mails, key=lambda mail_n: mail_n[1])


def _store(new: list, batch: list[Step], one_by_one: bool) -> None:
    """INSERT the new accounts: all at once (one statement), or one by one to find the row the
    unique constraints refuse."""
    if not one_by_one:
        db.session.add_all([account for _, account in new])
        db.session.flush()
        return
    for n, account in new:
        db.session.add(account)
        try:
            db.session.flush()
        except IntegrityError:  # the same username or external id, stored a moment ago
            step = batch[n]
            raise _RowRefused(n, Step(step.row, ERROR, "conflict", CONFLICT, step.username)) from None


def _resend(n: int, step: Step, actor: actions.Actor) -> tuple[Step, list]:
    """A new link for an invitation that expired (``actions.resend_invitation``), and its
    e-mail, held until the batch is committed."""
    account = db.session.get(Account, step.account_id)
    try:
        with mail.held([]) as sent:
            actions.resend_invitation(account, actor)
    except actions.Refused as refusal:
        raise _RowRefused(n, _refused(step, refusal)) from None
    return Step(step.row, RESEND, "resent", f"Nieuwe uitnodiging gestuurd aan {account.username}.",
                account.username, account.id), sent


def _refused(step: Step, refusal: actions.Refused) -> Step:
    return Step(step.row, ERROR, refusal.code, str(refusal), step.username)


class _BatchSession(Session):
    """``db.session`` during a batch: an action's ``commit()`` (a resend's) flushes, and the
    batch commits once at its end (``commit_batch``)."""

    def commit(self):
        self.flush()

    def commit_batch(self):
        super().commit()


@contextmanager
def _one_transaction():
    registry = db.session.registry
    previous = registry()
    batch = _BatchSession(db=db, expire_on_commit=False)
    registry.set(batch)
    try:
        yield batch
    finally:
        batch.rollback()  # whatever a failed batch left; nothing after commit_batch
        batch.close()
        registry.set(previous)


class _Stopped(Exception):
    """The e-mails of an earlier batch could not be sent: the import stops."""


#: SMTP connections the welcome e-mails go over at once: while the mail server handles one
#: message the next is already on its way (on loopback, 2 sent ~20% more per second than 1).
CONNECTIONS = 2


class _Sender:
    """Sends the e-mails of each committed batch in threads of their own, one SMTP connection
    each, while the next batch is made: the mail server's round trips (~4 per message) then
    overlap with the next batch's work instead of adding up after it.

    At most one batch is being sent: ``ready()``, just before each commit, waits for it, so a
    failure stops the import before anything more is committed (``_Stopped``), and the first
    time it opens the connections (``mail.MailError`` if the server is unreachable).
    """

    def __init__(self):
        self.app = current_app._get_current_object()
        self.queues = [queue.Queue() for _ in range(CONNECTIONS)]
        self.results = queue.Queue()
        self.threads = [threading.Thread(target=self._work, args=(jobs,), daemon=True,
                                         name=f"bulk-import-mail-{n}")
                        for n, jobs in enumerate(self.queues)]
        self.waiting, self.connected = 0, False
        self.failed: Step | None = None  # the row where sending stopped

    def __enter__(self) -> "_Sender":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.failed = self.failed or self._wait()
        finally:
            for jobs in self.queues:
                jobs.put(None)
            for thread in self.threads:
                thread.join()

    def _work(self, jobs: queue.Queue) -> None:
        with self.app.app_context(), mail.one_connection():
            while (job := jobs.get()) is not None:
                try:
                    self.results.put((job(), None))
                except BaseException as error:  # handed to the import's thread, raised there
                    self.results.put((None, error))

    def _each(self, jobs: list) -> None:
        for connection, job in zip(self.queues, jobs):
            connection.put(job)
            self.waiting += 1

    def _wait(self) -> Step | None:
        """Wait for every connection's job; the first row where sending stopped, if any."""
        stopped, error = [], None
        while self.waiting:
            self.waiting -= 1
            result, failure = self.results.get()
            error = error or failure
            if result is not None:
                stopped.append(result)
        if error is not None:
            raise error
        return min(stopped, key=lambda step: step.row.line, default=None)

    def ready(self) -> None:
        self.failed = self.failed or self._wait()
        if self.failed is not None:
            raise _Stopped
        if not self.connected:
            self._each([mail.connect_now] * CONNECTIONS)
            self._wait()
            self.connected = True

    def send(self, mails: list, done: list[Step]) -> None:
        """Send a committed batch's e-mails, shared out over the connections; a row whose
        e-mail failed (and every one after it on that connection) becomes an error in ``done``."""
        self._each([lambda share=mails[n::CONNECTIONS]: _send(share, done)
                    for n in range(CONNECTIONS)])


def _send(mails: list, done: list[Step]) -> Step | None:
    """Send a committed batch's e-mails; on a MailError the rows left unsent become errors and
    the Step where it stopped is returned."""
    for index, (message, n) in enumerate(mails):
        try:
            mail.send(message)
        except mail.MailError:
            for _, m in mails[index:]:
                step = done[m]
                done[m] = Step(step.row, ERROR, "mail_failed", MAIL_FAILED, step.username,
                               step.account_id)
            return done[n]
    return None


CONFLICT = ("Iemand anders maakte net een account met deze gebruikersnaam of dit e-mailadres. "
            "Voer het bestand opnieuw in om te zien wat er nu gebeurt.")
NOT_REACHED = "Niet gedaan: het invoeren stopte eerder. Voer het bestand opnieuw in."
MAIL_UNAVAILABLE = ("Gestopt: de e-mailserver is niet bereikbaar. Vanaf deze regel is niets "
                    "gedaan; voer het bestand opnieuw in als de e-mail weer werkt.")
MAIL_FAILED = ("De uitnodiging staat klaar, maar de welkomstmail kon niet worden verstuurd. "
               "Het invoeren is gestopt. Stuur de uitnodiging opnieuw vanaf de pagina van de "
               "ouder zodra de e-mail weer werkt, en voer het bestand daarna nog eens in.")
