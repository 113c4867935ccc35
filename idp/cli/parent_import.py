"""``idp parent import``: invite the parents of a CSV file (idp.accounts.bulk_import), with a
dry run first. Registers itself on ``idp parent``."""

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from idp.accounts import actions, bulk_import
from idp.cli.audit import actor_option
from idp.cli.org import find as find_org
from idp.cli.parent import group
from idp.cli.table import echo_table


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_code", required=True, help="Organisation code, e.g. PO2806.")
@click.option("--dry-run", is_flag=True, help="Only show what would happen to each row.")
@click.option("--resend-expired", is_flag=True,
              help="Send a new link to invited parents whose invitation has expired.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@actor_option
@with_appcontext
def import_(file, org_code, dry_run, resend_expired, yes, actor):
    """Invite the parents listed in FILE (CSV: email, name, username, external_id; a header
    row; ';' or ',' separated). Running the same file again invites nobody twice."""
    org = find_org(org_code)
    data = file.read_bytes()
    try:
        rows, notices = bulk_import.read(data)
    except bulk_import.FileProblem as problem:
        raise click.ClickException(str(problem)) from None
    for notice in notices:
        click.echo(f"Note: {notice}", err=True)
    plan = bulk_import.plan(org, rows, resend_expired=resend_expired)
    shown = [step for step in plan.steps if step.action != bulk_import.SKIP] if len(rows) > 200 \
        else plan.steps
    echo_table(("line", "what", "username", "why"),
               [(step.row.line, step.action, step.username or "-", step.message) for step in shown])
    counts = plan.counts()
    click.echo(_summary(counts, "would be" if dry_run else "will be"))
    if dry_run or not plan.work:
        if not plan.work and not dry_run:
            click.echo("Nothing to do.")
        return
    if not yes:
        problems = f" ({counts['error']} row(s) with a problem are left alone)" if counts["error"] else ""
        click.confirm(f"Invite {counts['invite']} and re-invite {counts['resend']} parent(s) of "
                      f"{org.code} now{problems}?", abort=True)
    with click.progressbar(length=len(plan.work), label="Inviting", file=sys.stderr) as bar:
        seen = [0]

        def progress(done, total):
            bar.update(done - seen[0])
            seen[0] = done

        outcome = bulk_import.run(org, data, actions.Actor(actor), resend_expired=resend_expired,
                                  progress=progress, source=file.name)
    # Rows refused at the last moment (someone changed the organisation since the dry run).
    for before, after in zip(plan.steps, outcome.steps):
        if after.action == bulk_import.ERROR and before.action != bulk_import.ERROR:
            click.echo(f"line {after.row.line}: {after.message}", err=True)
    click.echo(_summary(outcome.counts(), "were"))
    if outcome.stopped_at is not None:
        raise click.ClickException(f"stopped at line {outcome.stopped_at.row.line}: "
                                   f"{outcome.stopped_at.message}")


def _summary(counts: dict, verb: str) -> str:
    return (f"{counts['invite']} {verb} invited, {counts['resend']} re-invited, "
            f"{counts['skip']} skipped, {counts['error']} with a problem.")
