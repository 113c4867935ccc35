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


def leaks_in(text: str) -> list[str]:
    """The secrets that appear in ``text`` as a whole word (a 6-digit code inside a longer
    number or a hex id is not a leak)."""
    return sorted(secret for secret in SEEN
                  if re.search(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", text))
