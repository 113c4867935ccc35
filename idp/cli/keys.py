"""``idp keys``: signing keys (list, ensure, rotate, revoke, import) and the key-encryption key.

Every change is audited (``--actor``, default the operating-system user). Nothing here prints
or logs private key material.
"""

import re
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from idp import clock, keys
from idp.keys import kek_rotation, lifecycle as key_lifecycle, pem_import as key_import
from idp.keys import schedule as key_schedule
from idp.cli.audit import actor_option
from idp.cli.table import echo_table, when
from idp.extensions import db
from idp.models.signing_key import NEXT, REVOKED, SigningKey

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration(ctx, param, value):
    """``90d``, ``12h``, ``30m``, ``45s``, ``2w`` or plain seconds, as seconds."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d{1,9})\s*([smhdw]?)\s*", value)
    if not match:
        raise click.BadParameter(f"{value!r}: use a number with s, m, h, d or w, e.g. 90d")
    return int(match.group(1)) * UNITS[match.group(2) or "s"]


def _fail(message: str):
    raise click.ClickException(message)


@click.group("keys")
def group():
    """Signing keys for ID tokens and access tokens, and the key-encryption key."""


@group.command("list")
@with_appcontext
def list_():
    """Every key: kid, algorithm, state, and when it was made, activated, retired, removed."""
    config, now = current_app.config, clock.now()
    rows = []
    for key in db.session.scalars(select(SigningKey).order_by(SigningKey.id)):
        activated = when(key.activated_at)
        if key.state == NEXT:
            activated = f"(ready {when(key_schedule.ready_at(key, config))})"
        removed = key_schedule.removed_at(key, config)
        gone = "-" if removed is None else when(removed)
        if key.state == REVOKED:
            gone += " (revoked)"
        elif removed is not None and removed <= now:
            gone += " (done)"
        rows.append((key.kid, key.alg, key.state, when(key.created_at), activated,
                     when(key.retired_at), gone))
    echo_table(("kid", "alg", "state", "created", "activated", "retired", "will be removed"),
               rows)
    click.echo(
        f"\nA next key may sign {key_schedule.publication_lead(config)} s after it is published "
        "(2 x IDP_KEYS_CACHE_TTL). A retired key stays in the JWKS "
        f"{key_schedule.retention(config)} s: the longest token lifetime "
        f"({key_schedule.longest_token_ttl(config)} s) + IDP_KEYS_CACHE_TTL "
        f"({key_schedule.cache_ttl(config)} s). Times are UTC."
    )


@group.command("ensure")
@actor_option
@with_appcontext
def ensure(actor):
    """Give every algorithm an active key and a next key (`idp db upgrade` does this too)."""
    try:
        made = keys.ensure_keys(actor)
    except keys.ForeignKek as refused:
        _fail(str(refused))
    if not made:
        click.echo("Every algorithm has an active key and a next key.")
    for kid in made:
        key = key_lifecycle.find(kid)
        click.echo(f"Created {key.alg} key {kid} ({key.state}).")


@group.command("rotate")
@click.option("--alg", type=click.Choice(keys.SUPPORTED_ALGS),
              help="Only this algorithm (default: every one).")
@click.option("--if-older-than", "min_age", callback=_duration, metavar="DURATION",
              help="Only if the active key has signed at least this long, e.g. 90d; else do "
                   "nothing (for a scheduled job).")
@actor_option
@with_appcontext
def rotate(alg, min_age, actor):
    """The next key becomes active, the active key retires, a new next key is made.

    Refused (exit 1, nothing changed) while the next key has been published for less than
    twice IDP_KEYS_CACHE_TTL: relying parties could not all have it yet.
    """
    config = current_app.config
    try:
        outcomes = key_lifecycle.rotate(actor, (alg,) if alg else keys.SUPPORTED_ALGS, min_age)
    except (key_lifecycle.Refused, keys.ForeignKek) as refused:
        _fail(str(refused))
    refused = False
    for outcome in outcomes:
        if isinstance(outcome, key_lifecycle.Rotated):
            new_next = key_lifecycle.find(outcome.next_kid)
            click.echo(
                f"{outcome.alg}: {outcome.active_kid} signs now. {outcome.retired_kid} is "
                f"retired and stays in the JWKS until {when(outcome.retired_removed_at)}. "
                f"New next key {outcome.next_kid} (may sign from "
                f"{when(key_schedule.ready_at(new_next, config))})."
            )
        elif isinstance(outcome, key_lifecycle.NotDue):
            click.echo(f"{outcome.alg}: the active key {outcome.active_kid} has signed since "
                       f"{when(outcome.active_since)}, less than the given age; nothing to do.")
        elif isinstance(outcome, key_lifecycle.Conflict):
            refused = True
            click.echo(f"{outcome.alg}: not rotated: {outcome.message}", err=True)
        else:
            refused = True
            wait = outcome.ready_at - clock.timestamp()
            click.echo(
                f"{outcome.alg}: not rotated. The next key {outcome.next_kid} was published at "
                f"{when(outcome.published_at)}; relying parties may not have it in their cached "
                f"JWKS yet. It can become active from {when(outcome.ready_at)} (in {wait} s). "
                "Nothing changed.", err=True,
            )
    if refused:
        raise SystemExit(1)


# A kid is base64url and may start with "-": read it as the argument, not as an option.
@group.command("revoke", context_settings={"ignore_unknown_options": True})
@click.argument("kid")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@actor_option
@with_appcontext
def revoke(kid, yes, actor):
    """Emergency: take KID out of the JWKS at once and stop accepting what it signed.

    A revoked active key is replaced by the next key at once, and a new next key is made.
    """
    key = key_lifecycle.find(kid)
    if key is None:
        _fail(f"there is no signing key with kid {kid!r} (see `idp keys list`)")
    if key.state == REVOKED:
        _fail(f"key {kid} was already revoked at {when(key.revoked_at)}")
    question = (f"Revoke the {key.state} {key.alg} key {kid}? It leaves the JWKS, and every "
                "token it signed stops working at once.")
    if not yes and not click.confirm(question, default=False):
        click.echo("Nothing changed.")
        raise SystemExit(1)
    try:
        result = key_lifecycle.revoke(actor, kid)
    except (key_lifecycle.Refused, keys.ForeignKek) as refused:
        _fail(str(refused))
    if result.announced:
        reach = "within about a second"
    else:
        reach = (f"within {key_schedule.cache_ttl(current_app.config)} s (IDP_KEYS_CACHE_TTL): "
                 "they notice when they next read the database, as Redis could not tell them")
    click.echo(
        f"Revoked {kid}. It is out of the JWKS now; every worker stops using it {reach}. "
        f"{result.alg} tokens are signed by {result.active_kid}."
    )
    if not result.replacement_was_ready:
        click.echo(f"Note: {result.active_kid} was published only recently; relying parties "
                   "may meet its kid before their cached JWKS has it and fetch the JWKS again.",
                   err=True)


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--alg", type=click.Choice(keys.SUPPORTED_ALGS),
              help="The algorithm the key must be for (default: from the key).")
@actor_option
@with_appcontext
def import_(file, alg, actor):
    """Take over a PEM private key (RSA >= 2048 bits, or EC P-256) as the next key.

    It is published at once and becomes active with the next `idp keys rotate`, once it has
    been published long enough. An encrypted PEM asks for its passphrase.
    """
    try:
        if file.stat().st_size > key_import.MAX_PEM_BYTES:
            _fail(f"{file}: the file is too large for a PEM private key")
        pem = file.read_bytes()
    except OSError as error:
        _fail(f"{file}: cannot read it ({error.strerror})")
    passphrase = None
    if key_import.is_encrypted(pem):
        passphrase = click.prompt("Passphrase of the key", hide_input=True).encode()
    try:
        private_key, found = key_import.read_pem(pem, alg, passphrase)
        record, replaced = key_lifecycle.import_key(actor, private_key, found, source=file.name)
    except (key_import.UnusableKey, key_lifecycle.Refused, keys.ForeignKek) as refused:
        _fail(f"{file}: {refused}")
    ready = key_schedule.ready_at(record, current_app.config)
    click.echo(f"Imported {found} key {record.kid} as the next key; it is published now. "
               f"`idp keys rotate --alg {found}` can make it active from {when(ready)}.")
    if replaced:
        click.echo(f"It replaces the unused next key {replaced}, which is retired.")
    click.echo(f"The key is stored encrypted in the database: delete {file} or lock it away.")


@group.command("rotate-kek")
@actor_option
@with_appcontext
def rotate_kek(actor):
    """Re-encrypt every secret at rest (signing keys, TOTP secrets) under IDP_KEY_ENCRYPTION_KEY.

    Old secrets are read with the keys in IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY. One
    transaction: all or nothing. Safe to run again.
    """
    try:
        result = kek_rotation.rotate_kek(actor)
    except kek_rotation.Undecryptable as error:
        _fail(str(error))
    total = sum(result.reencrypted.values())
    if not total:
        click.echo(f"Every secret ({result.already_current}) is already under the current "
                   f"key-encryption key {result.kek_id}; nothing to do.")
        return
    counts = ", ".join(f"{table} {n}" for table, n in result.reencrypted.items())
    click.echo(f"Re-encrypted {total} secret(s) under key-encryption key {result.kek_id} "
               f"({counts}). Once every worker runs with this IDP_KEY_ENCRYPTION_KEY, remove the "
               "old key from IDP_KEY_ENCRYPTION_KEYS_DECRYPT_ONLY.")
