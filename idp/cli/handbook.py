"""``idp handbook build``: the parent handbook, generated from the pages in a real browser."""

from pathlib import Path

import click


@click.group("handbook")
def group():
    """The parent handbook (Dutch), with screenshots of the pages."""


@group.command("build")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("docs/handleiding"), show_default=True,
              help="Folder for README.md and img/.")
def build(out):
    """Start the demo in a temporary folder, walk the parent's path in headless Chromium and
    write the handbook as Markdown with screenshots."""
    from idp import handbook
    from idp.browser.chrome import BrowserMissing

    try:
        written = handbook.build(out, echo=click.echo)
    except BrowserMissing as missing:
        raise click.ClickException(str(missing)) from None
    size = sum(path.stat().st_size for path in written)
    click.echo(f"wrote {len(written)} files ({size // 1024} KiB) to {out}")
