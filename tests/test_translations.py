"""The English catalogue is complete and compiled: every text the sources mark has a reviewed
English translation, and the committed .mo is what the .po compiles to. So nobody can forget to
re-extract, translate or re-compile (docs/development.md, "Languages")."""

import gettext
import io
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "idp" / "translations" / "en" / "LC_MESSAGES"


def extract(pot: Path):
    """The extraction command of docs/development.md, run in-process on the sources."""
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
        "--add-location=file", "-o", str(pot), str(ROOT),
    ])
    with pot.open("rb") as f:
        return read_po(f)


def english():
    with (CATALOGUE / "messages.po").open("rb") as f:
        return read_po(f)


def test_every_marked_text_has_an_english_translation(tmp_path):
    marked = {m.id for m in extract(tmp_path / "messages.pot") if m.id}
    catalogue = english()
    translated = {m.id: m for m in catalogue if m.id}

    assert marked, "extraction found nothing: is babel.cfg right?"
    assert sorted(marked - set(translated)) == [], "run pybabel extract and update"
    assert sorted(set(translated) - marked) == [], "texts no longer in the sources: run update"
    assert [m.id for m in translated.values() if not m.string] == []
    assert [m.id for m in translated.values() if m.fuzzy] == [], "review the fuzzy entries"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == []  # e.g. a %(minimum)s placeholder lost in translation


def test_committed_mo_is_the_compiled_po():
    fresh = io.BytesIO()
    write_mo(fresh, english())
    fresh.seek(0)
    with (CATALOGUE / "messages.mo").open("rb") as f:
        committed = gettext.GNUTranslations(f)
    compiled = gettext.GNUTranslations(fresh)
    # The header names the Babel version that compiled it; everything else must be the same.
    headers = {k: v for k, v in compiled.info().items() if k != "generated-by"}
    assert {k: v for k, v in committed.info().items() if k != "generated-by"} == headers
    texts = {k: v for k, v in compiled._catalog.items() if k != ""}
    assert {k: v for k, v in committed._catalog.items() if k != ""} == texts, (
        "run pybabel compile -d idp/translations")
