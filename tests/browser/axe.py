"""axe-core 4.x from npm (this folder's package.json), injected into the page by Selenium and
run with the WCAG 2.0, 2.1 and 2.2 A/AA rules. Installed on first use, as the bench installs its
peer; node_modules is ignored by git."""

import shutil
import subprocess
from pathlib import Path

import pytest

FOLDER = Path(__file__).parent / "axe"
SCRIPT = FOLDER / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(r => done({version: axe.version, violations: r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))}))}))
  .catch(e => done({error: String(e)}));
"""


def source() -> str:
    if not SCRIPT.exists():
        if not shutil.which("npm"):
            pytest.fail("axe-core is not installed and npm is missing: apt-get install -y npm")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=FOLDER, check=True)
    return SCRIPT.read_text()


def violations(driver, script: str) -> tuple[str, list[dict]]:
    # Once per page: a test checks one page at two widths, and sending axe-core's half a
    # megabyte again only to parse it again finds nothing new.
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(script)
    driver.set_script_timeout(30)
    result = driver.execute_async_script(_RUN, TAGS)
    assert "error" not in result, result.get("error")
    return result["version"], result["violations"]


def describe(page: str, found: list[dict]) -> str:
    """Each violation by rule, with the elements it was found on."""
    lines = [f"axe-core: {len(found)} WCAG violation(s) on {page}:"]
    for violation in found:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


def assert_accessible(driver, script: str, page: str) -> None:
    version, found = violations(driver, script)
    assert version.startswith("4."), version
    assert not found, describe(page, found)
