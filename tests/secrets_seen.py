"""Every secret the tests handle (passwords, TOTP secrets and codes, activation links, client
secrets, codes and tokens), and every log file of the run, so the last test can prove none of
them reached a log line.

The suite runs in several processes (pytest-xdist workers): each writes what it saw to a file of
its own in the run's folder (``IDP_TEST_RUN_DIR``, made by tests/conftest.py), and the last test
reads every process's file with ``everything()``."""

import json
import os
import re
from pathlib import Path

SEEN: set[str] = set()  # this process's
#: Log files of this process and of the processes it started (gunicorn, the worker, a wheel).
LOG_FILES: list[Path] = []
_shared = None  # this process's file in the run's folder, opened by share_in()


def share_in(folder: Path) -> None:
    """From now on, also write what this process sees to its own file in ``folder``."""
    global _shared
    _shared = open(folder / f"seen-{os.getpid()}.jsonl", "a", encoding="utf-8")
    for value in SEEN:
        _write({"secret": value})
    for path in LOG_FILES:
        _write({"log": str(path)})


def stop_sharing() -> None:
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None


def _write(entry: dict) -> None:
    if _shared is not None:
        _shared.write(json.dumps(entry) + "\n")
        _shared.flush()  # another process reads it, and this one may be killed


def remember(*values) -> None:
    for value in values:
        if isinstance(value, str) and len(value) >= 6 and value not in SEEN:
            SEEN.add(value)
            _write({"secret": value})


def watch_log(path: Path) -> None:
    """A log file (of a process a test started) for the last test to read."""
    LOG_FILES.append(path)
    _write({"log": str(path)})


def everything(folder: Path) -> tuple[set[str], list[Path]]:
    """The secrets and log files every process of the run wrote to ``folder``."""
    secrets, logs = set(SEEN), list(LOG_FILES)
    for shared in sorted(folder.glob("seen-*.jsonl")):
        for line in shared.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "secret" in entry:
                secrets.add(entry["secret"])
            elif Path(entry["log"]) not in logs:
                logs.append(Path(entry["log"]))
    return secrets, logs


def remember_tokens(response_json: dict | None) -> None:
    if isinstance(response_json, dict):
        remember(*(response_json.get(name) for name in ("access_token", "refresh_token", "id_token")))


WORD = re.compile(r"[A-Za-z0-9_-]+")  # the base64url alphabet: codes, tokens, secrets


def leaks_in(text: str, secrets: set[str] = SEEN) -> list[str]:
    """The secrets that appear in ``text`` as a whole word (a 6-digit code inside a longer
    number or a hex id is not a leak). Word lookups keep this fast for thousands of secrets."""
    words = set(WORD.findall(text))
    leaks = []
    for secret in secrets:
        if WORD.fullmatch(secret):
            found = secret in words
        elif secret.count(".") == 2 and all(WORD.fullmatch(part) for part in secret.split(".")):
            found = secret.split(".")[2] in words  # a JWT: its signature is what is unique
        else:
            found = secret in text  # passwords with spaces, keys shown in groups
        if found:
            leaks.append(secret)
    return sorted(leaks)
