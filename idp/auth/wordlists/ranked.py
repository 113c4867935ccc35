"""A ranked word list (word -> its rank, 1 = most frequent) as zxcvbn's matchers read one
(``word in ranked``, ``ranked[word]``), kept compactly: the words sorted and joined into one
string, line by line, with the first word of every block of 16 as a list to bisect, and an
array of the ranks.

zxcvbn's own form, a dict per list, costs ~125 bytes a word (the dict's slot, an int object per
rank besides the word); a sorted list of the words ~70 (a string object each); this ~17 (the
word's characters and a line break, 4 bytes of rank, a sixteenth of a bisection entry): ~7 MiB
less than the sorted list for zxcvbn's ~94,000 words and our 30,000, in every worker that has
checked a new password. A lookup is a bisection of the block starts and one search inside a
block of ~150 characters, both in C: ~0.7 µs instead of a dict's ~0.05; an estimate makes a few
thousand, next to the password hash of the same request.
"""

from array import array
from bisect import bisect_right

#: Words per block: a lookup searches one block's text for the word.
BLOCK = 16
LINE = "\n"


class RankedWords:
    __slots__ = ("_text", "_firsts", "_starts", "_ranks")

    def __init__(self, ordered: list[str]):
        """``ordered``: most frequent first, each word once, none with a line break."""
        order = sorted(range(len(ordered)), key=ordered.__getitem__)
        words = [ordered[i] for i in order]
        self._ranks = array("I", [i + 1 for i in order])
        #: "\n" + the words, each followed by "\n": every word sits between two line breaks.
        self._text = LINE + LINE.join(words) + LINE
        # Copies, made while every word still exists so they land on pages of their own: the
        # words themselves are dropped after this, and pages that kept one word in sixteen
        # alive could not be given back.
        self._firsts = [word.encode().decode() for word in words[::BLOCK]]
        #: Where each block's leading line break is, and the text's last one after the last block.
        starts, at = array("I"), 0
        for index, word in enumerate(words):
            if index % BLOCK == 0:
                starts.append(at)
            at += len(word) + 1
        starts.append(at)
        self._starts = starts

    def _index(self, word: str) -> int | None:
        block = bisect_right(self._firsts, word) - 1
        if block < 0 or LINE in word:
            return None
        start, end = self._starts[block], self._starts[block + 1]
        found = self._text.find(LINE + word + LINE, start, end + 1)
        if found < 0:
            return None
        return block * BLOCK + self._text.count(LINE, start, found)

    def __contains__(self, word: str) -> bool:
        return self._index(word) is not None

    def __getitem__(self, word: str) -> int:
        index = self._index(word)
        if index is None:
            raise KeyError(word)
        return self._ranks[index]

    def __len__(self) -> int:
        return len(self._ranks)
