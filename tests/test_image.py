"""The container image's recipe, checked without a container: the lock file covers
pyproject.toml, the Dockerfile keeps build tools, tests and secrets out of the final stage and
runs granian's launcher with gunicorn.conf.py beside it (the fallback), gunicorn.conf.py takes
its sizes from the environment, and the entrypoint prepares the Prometheus folder. .ci/image
builds and runs the real image, with both servers, where buildah and podman work.
"""

import re
import runpy
import subprocess
import tomllib
from types import ModuleType, SimpleNamespace

import pytest
from gunicorn.config import Config
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from idp.settings import PROJECT_ROOT
from tests.processes import server_env_only

CONF = PROJECT_ROOT / "gunicorn.conf.py"


# --- the lock file ---------------------------------------------------------------------------
def _locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) from requirements.lock."""
    locked = {}
    for block in re.split(r"\n(?=\S)", (PROJECT_ROOT / "requirements.lock").read_text()):
        if match := re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", block):
            locked[canonicalize_name(match[1])] = (match[2], block.count("--hash=sha256:"))
    return locked


def test_lock_file_pins_every_runtime_dependency_with_hashes():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    locked = _locked()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is missing from requirements.lock: refresh it (docs/development.md)"
        assert requirement.specifier.contains(locked[name][0]), (
            f"requirements.lock has {name}=={locked[name][0]}, pyproject.toml wants {requirement}")
        for extra in requirement.extras:  # psycopg[binary] -> psycopg-binary
            assert canonicalize_name(f"{name}-{extra}") in locked
    assert all(hashes for _, hashes in locked.values()), "every pin needs its hashes"


# --- the Dockerfile --------------------------------------------------------------------------
def _stages() -> list[list[str]]:
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = [line.strip() for line in text.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    stages: list[list[str]] = []
    for instruction in instructions:
        if instruction.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_dockerfile_installs_from_the_lock_in_a_build_stage():
    build, final = _stages()
    install = next(i for i in build if "pip install" in i)
    assert "--require-hashes" in install and "-r /tmp/requirements.lock" in install
    assert "-r /tmp/requirements-build.lock" in install
    assert "--only-binary :all:" in install  # nothing is compiled: no compiler anywhere
    # The app's own wheel, built and installed from the copied sources without fetching.
    wheel = next(i for i in build if "pip wheel" in i)
    assert "--no-index" in wheel and "--no-build-isolation" in wheel
    assert "pip uninstall -q -y setuptools pip" in wheel  # the build tools leave the venv
    assert not any("pip install" in i or "apt-get" in i for i in final)


def test_build_lock_pins_a_setuptools_that_builds_the_wheel():
    """requirements-build.lock: what the build stage builds the wheel with, hashed, and new
    enough for pyproject.toml's build-system."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    [required] = [Requirement(line) for line in pyproject["build-system"]["requires"]]
    text = (PROJECT_ROOT / "requirements-build.lock").read_text()
    pinned = re.search(r"^setuptools==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}", text, re.M)
    assert pinned, text
    assert required.specifier.contains(pinned[1])


def test_both_servers_are_runtime_dependencies():
    """granian runs in the image; gunicorn is the fallback an operator can switch to."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}
    assert {"granian", "gunicorn"} <= runtime


def test_dockerfile_final_stage_runs_granian_as_non_root_with_the_gunicorn_fallback():
    final = _stages()[-1]
    assert "USER 10001:10001" in final
    assert any(i.startswith("HEALTHCHECK") and "/healthz" in i for i in final)
    assert 'CMD ["python3", "-m", "idp.granian_server"]' in final  # the module is in the wheel
    assert 'ENTRYPOINT ["idp-entrypoint"]' in final
    # The fallback: docker run IMAGE gunicorn -c /app/gunicorn.conf.py idp.wsgi:app
    assert "COPY gunicorn.conf.py /app/" in final
    copied = " ".join(i for i in final if i.startswith("COPY"))
    for never in ("tests", "keys", "instance", ".venv", "COPY . ", "idp", "templates"):
        assert never not in copied  # the app is the wheel installed in the venv
    environment = " ".join(i for i in final if i.startswith(("ENV", "ARG")))
    for secret in ("IDP_SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY", "IDP_DATABASE_URL",
                   "IDP_REDIS_URL", "IDP_SMTP_URL", "PIP_CERT"):
        assert secret not in environment


def test_dockerignore_lets_in_only_what_the_image_needs():
    lines = [line for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"requirements.lock", "requirements-build.lock", "pyproject.toml", "idp",
                       "templates", "gunicorn.conf.py", "docker/entrypoint.sh"}


# --- gunicorn.conf.py ------------------------------------------------------------------------
def load_conf(monkeypatch, **env) -> Config:
    """gunicorn.conf.py read the way gunicorn reads it, into gunicorn's own Config."""
    server_env_only(monkeypatch, **env)
    namespace = runpy.run_path(str(CONF))
    config = Config()
    names = {k: v for k, v in namespace.items()
             if not k.startswith("_") and not isinstance(v, ModuleType)}  # os, idp.serving
    # gunicorn skips unknown names silently: a misspelt setting would just not apply.
    assert set(names) <= set(config.settings), set(names) - set(config.settings)
    for name, value in names.items():
        config.set(name, value)
    return config


def test_gunicorn_defaults(monkeypatch):
    config = load_conf(monkeypatch)
    assert config.bind == ["0.0.0.0:8000", "0.0.0.0:9100"]
    assert (config.worker_class_str, config.workers, config.threads) == ("gthread", 2, 2)
    assert config.preload_app is True  # the workers share the app (docs/performance.md: Memory)
    assert (config.timeout, config.graceful_timeout, config.keepalive) == (30, 25, 5)
    assert config.accesslog is None  # activation links carry their token in the path
    assert config.control_socket_disable is True
    assert config.worker_tmp_dir == "/tmp"


def test_gunicorn_takes_sizes_and_timeouts_from_the_environment(monkeypatch):
    config = load_conf(monkeypatch, GUNICORN_WORKERS="5", GUNICORN_THREADS="8",
                       GUNICORN_TIMEOUT="60", GUNICORN_GRACEFUL_TIMEOUT="40",
                       GUNICORN_KEEPALIVE="75", IDP_METRICS_PORT="9200")
    assert (config.workers, config.threads, config.timeout) == (5, 8, 60)
    assert (config.graceful_timeout, config.keepalive) == (40, 75)
    assert config.bind == ["0.0.0.0:8000", "0.0.0.0:9200"]


def test_gunicorn_refuses_a_size_that_is_no_number(monkeypatch):
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS must be a whole number"):
        load_conf(monkeypatch, GUNICORN_WORKERS="four")


def test_child_exit_drops_a_dead_workers_live_gauges(monkeypatch, tmp_path):
    config = load_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for name in ("gauge_livesum_4242.db", "gauge_liveall_4242.db", "counter_4242.db",
                 "gauge_livesum_4343.db"):
        (tmp_path / name).write_bytes(b"")
    config.child_exit(None, SimpleNamespace(pid=4242))
    # Counters of a dead worker still count; its live gauges (sessions now) do not.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db", "gauge_livesum_4343.db"]


def test_entrypoint_starts_with_an_empty_prometheus_folder(tmp_path):
    folder = tmp_path / "prometheus"
    (folder / "old").mkdir(parents=True)
    (folder / "counter_1.db").write_bytes(b"stale")
    (folder / "old" / "gauge_livesum_2.db").write_bytes(b"stale")
    done = subprocess.run(
        ["sh", str(PROJECT_ROOT / "docker" / "entrypoint.sh"), "sh", "-c",
         'ls -A "$PROMETHEUS_MULTIPROC_DIR"; echo "args: $0"', "passed-through"],
        env={"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(folder)},
        capture_output=True, text=True, check=True)
    assert done.stdout == "args: passed-through\n"
    assert folder.is_dir()
