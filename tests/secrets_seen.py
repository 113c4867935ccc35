"""Every secret the tests handle (passwords, TOTP secrets and codes, activation links, client
secrets, codes and tokens), so the last test can prove none of them reached a log line."""

import re
from pathlib import Path

SEEN: set[str] = set()
#: Log files of other processes (gunicorn instances in multi-process tests) to scan as well.
LOG_FILES: list[Path] = []


def remember(*values) -> None:
    for value in values:
        if isinstance(value, str) and len(value) >= 6:
            SEEN.add(value)


def remember_tokens(response_json: dict | None) -> None:
    if isinstance(response_json, dict):
        remember(*(response_json.get(name) for name in ("access_token", "refresh_token", "id_token")))


WORD = re.compile(r"[A-Za-z0-9_-]+")  # the base64url alphabet: codes, tokens, secrets


def leaks_in(text: str) -> list[str]:
    """The secrets that appear in ``text`` as a whole word (a 6-digit code inside a longer
    number or a hex id is not a leak). Word lookups keep this fast for thousands of secrets."""
    words = set(WORD.findall(text))
    leaks = []
    for secret in SEEN:
        if WORD.fullmatch(secret):
            found = secret in words
        elif secret.count(".") == 2 and all(WORD.fullmatch(part) for part in secret.split(".")):
            found = secret.split(".")[2] in words  # a JWT: its signature is what is unique
        else:
            found = secret in text  # passwords with spaces, keys shown in groups
        if found:
            leaks.append(secret)
    return sorted(leaks)
