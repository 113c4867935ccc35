"""The password-strength verdicts a parent sees at activation, pinned for a spread of passwords
(every kind of refusal, Dutch and English words, names, near misses): a change to how the
estimator and its word lists are loaded or stored must not change a single verdict."""

import importlib.util
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from idp.auth import password_policy

TIP = " Tip: maak een zin van vier of meer woorden die alleen u kent."
COMMON = "Dit wachtwoord wordt door veel mensen gebruikt en is daarom makkelijk te raden." + TIP
WORD = "Een bestaand woord, ook met een paar cijfers of tekens erbij, is makkelijk te raden." + TIP
REPEATS = "Herhalingen, zoals aaa of abcabc, zijn makkelijk te raden." + TIP
VERDICTS = {
    'fiets lamp wolk tuin': None,
    'zeeslak dakgoot pianist': None,
    'password1234': COMMON,
    'wachtwoord123': WORD,
    'voetbal2024': WORD,
    'Jeroen19841984': REPEATS,
    'qwertyuiop12': COMMON,
    'aaaaaaaaaaaa': REPEATS,
    'abcdefghijkl': 'Reeksen, zoals abcd of 1234, zijn makkelijk te raden.' + TIP,
    'yvonne.testouder99': 'Uw wachtwoord mag uw gebruikersnaam niet bevatten.',
    'ppo2806 rotterdam': 'Uw wachtwoord mag de naam of code van uw organisatie niet bevatten.',
    'welkom01welkom': COMMON,
    'gezelligheid': WORD,
    'Amsterdam2025!': None,
    'zonnebloemen': WORD,
    'kinderopvang24': WORD,
    'P@ssw0rd!2024': COMMON,
    'Sanne&Daan2016': None,
    '1234567890ab': COMMON,
    '01-02-2019 jarig': None,
    'de Vries 1975 tuin': None,
    'schoolplein': WORD,
    'hondenriem9': None,
    'mijnkindisslim': None,
    'Ouderportaal2026':  # the brand, one of the personal words
        'Dit wachtwoord lijkt op uw gebruikersnaam, uw organisatie of uw e-mailadres.' + TIP,
    'correct horse battery': None,
    'trein fiets boot vliegtuig': None,
    'xk7#pQ2!vLm9': None,
    'fietsenlangsdemaas': None,
    'tulpenbollenveld': None,
    'Lotte2012Lotte2012': REPEATS,
    'zxcvbnm,./123':
        'Toetsen die naast elkaar liggen, zoals qwerty, zijn makkelijk te raden.' + TIP,
    'welkomwelkom': REPEATS,
    'GROENTEBOER88': None,
    'jan.jansen@mail': None,
    'eenhoorn7eenhoorn': None,
    'het regent vandaag weer': None,
    'kattenkwaad2020!': None,
    'pannenkoekenhuis': WORD,
    '1q2w3e4r5t6y': COMMON,
}


@pytest.fixture
def parent():
    """Yvonne of PPO Rotterdam (two-factor, so 10 characters are enough)."""
    org = SimpleNamespace(requires_2fa=True, code="PO2806", name="PPO Rotterdam")
    return SimpleNamespace(organisation=org, username="yvonne.testouder", email="yvonne@example.nl")


def test_every_verdict_is_the_pinned_one(app, parent):
    with app.test_request_context():
        verdicts = {password: password_policy.problem(password, parent) for password in VERDICTS}
    assert verdicts == VERDICTS


def test_the_compact_word_lists_rank_every_word_as_zxcvbns_dicts_do():
    from zxcvbn.matching import build_ranked_dict

    from idp.auth import wordlists
    from idp.auth.wordlists.ranked import RankedWords

    # Read from zxcvbn's file: the estimator empties the module's table once it has loaded it.
    source = Path(importlib.util.find_spec("zxcvbn").origin).with_name("frequency_lists.py")
    lists = [*runpy.run_path(str(source))["FREQUENCY_LISTS"].values(), wordlists.dutch()]
    assert len(lists) == 7
    for ordered in lists:
        ranked, compact = build_ranked_dict(ordered), RankedWords(ordered)
        assert len(compact) == len(ranked)
        assert all(compact[word] == rank for word, rank in ranked.items())
        first, last = min(ordered), max(ordered)
        for absent in ("", "zzzzzzzzzz", ordered[0] + "x", ordered[-1][:-1] + "~", first[:-1],
                       last + "a", "\n", first + "\n" + last, ordered[0] + "\n"):
            assert (absent in compact) == (absent in ranked)
            if absent not in ranked:
                with pytest.raises(KeyError):
                    compact[absent]
