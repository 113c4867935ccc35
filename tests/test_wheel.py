"""The wheel runs on its own: built from the sources, installed (not editable) into a fresh
virtualenv outside the checkout, it migrates, serves its pages (with the image's command,
``python -m idp.granian_server``) and sends the welcome e-mail, with the checkout nowhere on
sys.path. Everything it reads comes from the package; its state
(instance/, keys/) lands in the working directory.

Offline and quick (~15 s): the wheel is built without build isolation (setuptools is a test
dependency), and the fresh virtualenv borrows this one's installed dependencies through a
``.pth`` line, which adds their folder to sys.path but runs none of its ``.pth`` files, so this
checkout's editable install stays out of it.
"""

import email
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import requests

from idp.settings import PROJECT_ROOT
from tests import secrets_seen
from tests.processes import free_port, wait_until_serving

#: What the build needs; nothing else of the checkout is copied.
SOURCES = ("pyproject.toml", "idp", "templates")


def run(args, cwd, env, timeout=120) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = PROJECT_ROOT / name
        if origin.is_dir():  # symlinks=True: idp/templates stays the link it is in git
            shutil.copytree(origin, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(origin, source / name)
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", str(dist), str(source)], cwd=source, env=None)
    return next(dist.glob("ppo_idp-*.whl"))


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed; the dependencies are this one's."""
    home = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(home)], cwd=home, env=None)
    python = home / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                  cwd=home, env=None).strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(purelib) / "borrowed-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)], cwd=home, env=None)
    return home


@pytest.fixture
def service(venv, tmp_path):
    """A working directory outside the checkout and the environment of the installed service."""
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path),
           "IDP_ISSUER": f"http://127.0.0.1:{free_port()}", "IDP_LOG_LEVEL": "INFO"}
    work = tmp_path / "work"
    work.mkdir()
    return work, env


def test_the_wheel_carries_every_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {f"idp/templates/{path.relative_to(PROJECT_ROOT / 'templates')}"
                 for path in (PROJECT_ROOT / "templates").rglob("*") if path.is_file()}
    assert templates and templates <= names
    assert {"idp/static/style.css", "idp/translations/en/LC_MESSAGES/messages.mo",
            "idp/auth/wordlists/dutch.txt", "idp/wsgi.py",
            "idp/granian_server.py", "idp/serving.py"} <= names  # the image's command
    assert any(name.startswith("idp/migrations/versions/") for name in names)
    assert not any(name.startswith(("tests/", "bench/", "templates/")) for name in names)


def test_installed_service_migrates_serves_and_sends_the_welcome_email(venv, service):
    work, env = service
    python, idp = str(venv / "bin" / "python"), str(venv / "bin" / "idp")
    # The package imported is the installed one, and the checkout is not on sys.path.
    where = json.loads(run([python, "-c", "import idp, json, sys; "
                                          "print(json.dumps([idp.__file__, sys.path]))"],
                           cwd=work, env=env))
    assert where[0].startswith(str(venv))
    assert not any((Path(entry or work) / "templates").is_dir() for entry in where[1])

    assert "Database is up to date." in run([idp, "db", "upgrade"], cwd=work, env=env)
    run([idp, "org", "add", "PO2806", "PPO Rotterdam"], cwd=work, env=env)
    run([idp, "parent", "invite", "--org", "PO2806", "--email", "yvonne@example.org",
         "--username", "Yvonne.testouder", "--name", "Yvonne Testouder"], cwd=work, env=env)
    # The embedded default's state is in the working directory, nowhere near the package.
    assert (work / "keys" / "kek").is_file() and (work / "instance" / "idp.sqlite3").is_file()
    [sent] = (work / "instance" / "outbox").glob("*.eml")
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"adres: (\S+)", text).group(1)
    secrets_seen.remember(link, link.rsplit("/", 1)[-1])
    assert "Yvonne.testouder" in text and "PPO Rotterdam" in text
    assert link.startswith(f"{env['IDP_ISSUER']}/activeren/")
    assert message.get_body(("html",)) is not None

    port = env["IDP_ISSUER"].rsplit(":", 1)[1]
    log = work / "server.log"
    with open(log, "wb") as out:  # the image's command, one worker (no Redis here)
        server = subprocess.Popen(
            [python, "-m", "idp.granian_server"], cwd=work, stdout=out, stderr=subprocess.STDOUT,
            env={**env, "GUNICORN_HOST": "127.0.0.1", "GUNICORN_PORT": port,
                 "GUNICORN_WORKERS": "1", "IDP_METRICS_PORT": str(free_port())})
    secrets_seen.watch_log(log)
    try:
        issuer = env["IDP_ISSUER"]
        wait_until_serving(f"{issuer}/healthz", server, problem=log.read_text)
        config = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        assert config["issuer"] == issuer
        assert requests.get(config["jwks_uri"], timeout=10).json()["keys"]
        page = requests.get(f"{issuer}/inloggen", timeout=10)
        assert page.status_code == 200 and "<h1>Inloggen</h1>" in page.text
        assert requests.get(f"{issuer}/inloggen?lang=en", timeout=10).text.count("Sign in")
        assert requests.get(f"{issuer}/static/style.css", timeout=10).status_code == 200
        browser = requests.Session()
        activation = browser.get(link, timeout=10)  # -> /activeren, the page with the QR code
        assert activation.status_code == 200 and 'class="qr"' in activation.text
    finally:
        server.terminate()
        server.wait(timeout=10)
