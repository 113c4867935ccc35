"""Which new password a parent may choose (NIST SP 800-63B 3.1.1.2, OWASP ASVS 5 V6.2).

Length is what counts: at least ``IDP_PASSWORD_MIN_LENGTH`` (10) characters where sign-in also
asks for a code, ``IDP_PASSWORD_MIN_LENGTH_NO_2FA`` (15) where the password is all there is, and
up to 256 (never truncated). No composition rules. Refused: a password that contains the
username or the organisation, and one the zxcvbn estimator can guess (score below 3) with its
own lists plus the 30,000 most frequent Dutch words, which include common Dutch names.
Every refusal says why, in the parent's language.

zxcvbn and its word lists (its own ~94,000 words and our 30,000) are loaded on the first
estimate, not at import: only setting a password needs them, and most workers never do (a parent
activates once). A worker that has set a password keeps ~7-8 MiB more resident: the lists held
compactly (idp.auth.wordlists.ranked, ~2 MiB of objects) instead of as the dicts zxcvbn builds
(~17 MiB), zxcvbn's modules, and what loading them left behind.
"""

import importlib.util
import sys
import threading
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from idp import memory
from idp.auth import wordlists
from idp.auth.wordlists.ranked import RankedWords

LONGEST = 256
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline attacks"
ESTIMATED_PREFIX = 72  # zxcvbn's own bound; a longer password is judged by its first part

_loading = threading.Lock()
# zxcvbn puts each call's user inputs in its module-wide table of lists: one estimate at a time,
# or a parent's could be judged against another's e-mail address.
_estimating = threading.Lock()
_zxcvbn = None


def _estimator():
    """zxcvbn with the Dutch words added, loaded once per process on first use."""
    global _zxcvbn
    with _loading:
        if _zxcvbn is None:
            lists = _zxcvbn_lists()
            from zxcvbn import matching, zxcvbn

            # One list at a time, each word list dropped once it is compact: the peak while
            # loading is what a worker keeps resident (pages freed among kept objects stay).
            ranked = {name: RankedWords(lists.pop(name)) for name in list(lists)}
            ranked["dutch"] = RankedWords(wordlists.dutch())
            matching.RANKED_DICTIONARIES.update(ranked)
            # Reading the lists built and dropped far more than they keep (the module's code
            # and constants, the words as objects): give those pages back.
            memory.give_back_freed_memory()
            _zxcvbn = zxcvbn
    return _zxcvbn


def _zxcvbn_lists() -> dict[str, list[str]]:
    """zxcvbn's own word lists, taken out of ``zxcvbn.frequency_lists`` before ``zxcvbn.matching``
    makes a dict of each at import: freed, those dicts' pages would stay with the process."""
    if "zxcvbn" in sys.modules:  # imported already (a tool, a test): its dicts exist anyway
        from zxcvbn.frequency_lists import FREQUENCY_LISTS

        return dict(FREQUENCY_LISTS)
    package = importlib.util.find_spec("zxcvbn")  # finds it without importing it
    spec = importlib.util.spec_from_file_location(
        "zxcvbn.frequency_lists",
        Path(package.submodule_search_locations[0]) / "frequency_lists.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lists = dict(module.FREQUENCY_LISTS)
    module.FREQUENCY_LISTS.clear()
    sys.modules[spec.name] = module  # what zxcvbn.matching will import: nothing to build
    return lists


def problem(password: str, account) -> str | None:
    """A sentence saying why ``password`` is not allowed for ``account``, or None."""
    org = account.organisation
    config = current_app.config
    minimum = config["IDP_PASSWORD_MIN_LENGTH" if org.requires_2fa else "IDP_PASSWORD_MIN_LENGTH_NO_2FA"]
    if len(password) < minimum:
        return _("Kies een wachtwoord van minstens %(minimum)s tekens.", minimum=minimum)
    if len(password) > LONGEST:
        return _("Kies een wachtwoord van hoogstens 256 tekens.")
    folded = password.casefold()
    if account.username.casefold() in folded:
        return _("Uw wachtwoord mag uw gebruikersnaam niet bevatten.")
    if any(part and len(part) >= 3 and part.casefold() in folded for part in (org.code, org.name)):
        return _("Uw wachtwoord mag de naam of code van uw organisatie niet bevatten.")
    personal = [account.username, org.code, org.name, account.email.split("@")[0],
                config["IDP_BRAND"], "ppo", "kindkans", "ouder", "school"]
    estimate = _estimator()
    with _estimating:
        result = estimate(password[:ESTIMATED_PREFIX], user_inputs=personal)
    if result["score"] >= MIN_SCORE:
        return None
    return _why_guessable(result["sequence"]) + " " + _(
        "Tip: maak een zin van vier of meer woorden die alleen u kent."
    )


def _why_guessable(sequence: list[dict]) -> str:
    """Explain the longest guessable part zxcvbn found, in plain words."""
    matches = [m for m in sequence if m["pattern"] != "bruteforce"]
    if not matches:
        return _("Dit wachtwoord is te makkelijk te raden. Kies een ander wachtwoord.")
    match = max(matches, key=lambda m: len(m["token"]))
    pattern, dictionary = match["pattern"], match.get("dictionary_name")
    if pattern == "dictionary" and dictionary == "user_inputs":
        return _("Dit wachtwoord lijkt op uw gebruikersnaam, uw organisatie of uw e-mailadres.")
    if pattern == "dictionary" and dictionary == "passwords":
        return _("Dit wachtwoord wordt door veel mensen gebruikt en is daarom makkelijk te raden.")
    if pattern == "dictionary" and dictionary in ("male_names", "female_names", "surnames"):
        return _("Namen zijn makkelijk te raden, ook met een paar cijfers erbij.")
    if pattern == "dictionary":
        return _("Een bestaand woord, ook met een paar cijfers of tekens erbij, is makkelijk te raden.")
    if pattern == "spatial":
        return _("Toetsen die naast elkaar liggen, zoals qwerty, zijn makkelijk te raden.")
    if pattern == "repeat":
        return _("Herhalingen, zoals aaa of abcabc, zijn makkelijk te raden.")
    if pattern == "sequence":
        return _("Reeksen, zoals abcd of 1234, zijn makkelijk te raden.")
    if pattern in ("regex", "date"):
        return _("Jaartallen en datums zijn makkelijk te raden.")
    return _("Dit wachtwoord is te makkelijk te raden. Kies een ander wachtwoord.")
