"""The documentation holds together: the README keeps the two commands a newcomer and CI run, and
every relative link in the README and docs/ points at a file and heading that exist."""

import re

import pytest

from idp.settings import PROJECT_ROOT

DEMO = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/idp demo up"
TESTS = ("python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' "
         "&& .venv/bin/python -m pytest")
PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_readme_keeps_the_demo_and_test_commands():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert DEMO in readme
    assert TESTS in readme


def test_ci_runs_the_readme_test_command_exactly():
    assert TESTS in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_relative_links_point_at_files_and_headings_that_exist(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(target)
    assert broken == []
