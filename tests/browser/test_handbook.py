"""The committed parent handbook (docs/handleiding) is what `idp handbook build` writes today:
the same words, and a picture for every screenshot it names."""

import re

from idp import handbook
from idp.settings import PROJECT_ROOT

COMMITTED = PROJECT_ROOT / "docs" / "handleiding"


def test_the_committed_handbook_is_up_to_date(tmp_path):
    written = handbook.build(tmp_path / "handleiding", echo=lambda line: None)
    built = (tmp_path / "handleiding" / "README.md").read_text()
    assert built == (COMMITTED / "README.md").read_text(), (
        "docs/handleiding is out of date: run `idp handbook build --out docs/handleiding`")
    images = re.findall(r"!\[[^\]]+\]\((img/[^)]+\.png)\)", built)
    assert images and all((COMMITTED / image).is_file() for image in images)
    assert {path.name for path in written if path.suffix == ".png"} == {
        image.removeprefix("img/") for image in images}
    for image in images:
        assert (COMMITTED / image).stat().st_size < 60_000, f"{image}: keep pictures small"


def test_the_command_says_what_to_install_without_a_browser(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from idp.cli.handbook import group

    monkeypatch.setattr("shutil.which", lambda name: None)
    result = CliRunner().invoke(group, ["build", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "apt-get install -y chromium chromium-driver" in result.output
    assert "pip install -e '.[test]'" in result.output
