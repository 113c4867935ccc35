"""Word lists for the password estimator (zxcvbn) beyond its own English ones.

``dutch.txt`` holds the 30,000 most frequent Dutch words (names included, as they occur in
Dutch text), lower case, most frequent first, taken from the maintained ``wordfreq`` corpus.
Regenerate it (``pip install wordfreq``) with::

    python -m idp.auth.wordlists

The estimator holds every list, zxcvbn's and this one, as ``ranked.RankedWords``.
"""

from importlib.resources import files

COUNT = 30_000


def dutch() -> list[str]:
    return files(__package__).joinpath("dutch.txt").read_text(encoding="utf-8").split()


def _regenerate() -> None:
    import wordfreq  # a development tool only: the service reads the file

    words = [word for word in wordfreq.top_n_list("nl", COUNT * 2)
             if len(word) >= 3 and word.isalpha()][:COUNT]
    target = files(__package__).joinpath("dutch.txt")
    with open(str(target), "w", encoding="utf-8") as out:
        out.write("\n".join(words) + "\n")
    print(f"{len(words)} words written to {target}")


