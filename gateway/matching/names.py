"""Payer names: how a bank spells a company, and how to find the customer it probably is.

Bank statements carry the payer's name as the payer's bank holds it: upper-case, Nordic letters spelt out
or dropped ("SÆTHER" / "SAETHER" / "SATHER"), legal forms present or not, and cut at 35 characters or
less. So names are compared through a folded matching key, never as written, and the comparison is
evidence only: two look-alike companies ("Nordic Trading AS", "Nordic Trading Partners AS") can both
score perfectly against a truncated bank name, which is why a fuzzy name never applies money by itself.

Two keys, for two purposes:

* `match_key` (fuzzy search): folded letters, punctuation gone, legal forms and filler words removed, a
  dangling one-letter tail (a name cut inside its legal form) dropped. Lossy on purpose.
* `alias_key` (learned aliases, exact lookup): folded letters and punctuation gone, but every word kept,
  so "NORDIC TRADING AB" and "NORDIC TRADING" stay two different aliases of possibly different customers.

`NameIndex` finds candidates without scanning every customer: an inverted index from word to customers,
the last (possibly truncated) word matched as a prefix, then rapidfuzz's token-set ratio on the few
candidates left.
"""

from __future__ import annotations

import bisect
import heapq
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

#: Legal-form words and filler: they say nothing about *which* company pays.
LEGAL_FORMS = frozenset(
    {
        "as",
        "asa",
        "ab",
        "abp",
        "oy",
        "oyj",
        "gmbh",
        "mbh",
        "ltd",
        "limited",
        "inc",
        "llc",
        "llp",
        "ag",
        "aps",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "plc",
        "ks",
        "ans",
        "da",
        "ba",
        "sf",
        "nuf",
        "enk",
        "hb",
        "kb",
        "kg",
        "ohg",
        "ug",
        "ek",
        "corp",
        "corporation",
        "co",
        "company",
        "srl",
        "spa",
        "og",
        "and",
    }
)
_LETTERS = str.maketrans(
    {"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "&": " "}
)
_DIGRAPHS = re.compile(r"aa|ae|oe|ue")
_DIGRAPH_TO = {"aa": "a", "ae": "a", "oe": "o", "ue": "u"}
_SLASH_FORMS = re.compile(r"\b([a-z])\s*/\s*([a-z])\b")  # A/S, K/S
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(name: str) -> str:
    """Lower-case ASCII with Nordic letters and their spelt-out forms made equal (ø = oe = o, å = aa = a).

    The digraph collapse runs to a fixed point, so folding a folded name changes nothing.
    """
    text = name.casefold().translate(_LETTERS)
    if not text.isascii():  # ASCII is its own decomposition and has no combining marks
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    while True:
        collapsed = _DIGRAPHS.sub(lambda m: _DIGRAPH_TO[m.group()], text)
        if collapsed == text:
            break
        text = collapsed
    text = _SLASH_FORMS.sub(r"\1\2", text)
    return _NON_WORD.sub(" ", text).strip()


def alias_key(name: str) -> str:
    """The exact-lookup key of a learned payer alias: folded, every word kept."""
    return fold(name)


def match_key(name: str) -> str:
    """The fuzzy-search key: folded, legal forms and filler words out, a one-letter tail cut off."""
    words = [word for word in fold(name).split() if word not in LEGAL_FORMS]
    while len(words) > 1 and len(words[-1]) == 1:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class NameHit:
    """A customer whose name resembles the payer's, with rapidfuzz's score (0..100)."""

    customer_key: str
    name: str
    score: float


class NameIndex:
    """Customer names, searchable by a bank's version of them without scanning every customer."""

    #: Candidates scored per search at most (the rarest words narrow far below this in practice).
    MAX_CANDIDATES = 4000
    #: Vocabulary words a truncated last word may expand to.
    MAX_PREFIX_WORDS = 64
    #: Entries held in unions kept for truncated last words (emptied when more; about 40 bytes each).
    MAX_CACHED_ENTRIES = 250_000
    #: Searches whose hits are kept (emptied when full).
    MAX_CACHED_SEARCHES = 8192

    def __init__(self) -> None:
        self._entry_ids: dict[tuple[str, str], int] = {}
        self._entry_keys: list[str] = []
        self._entry_names: list[str] = []
        self._entry_display: list[str] = []
        self._postings: dict[str, set[int]] = {}
        self._vocabulary: list[str] | None = None
        #: last (maybe truncated) word -> the entries having it or a word it begins; emptied by `add`
        self._last_word_entries: dict[str, set[int]] = {}
        self._cached_entries = 0
        #: (query key, limit, cutoff) -> the hits; payers come back, and so do their bank names
        self._searched: dict[tuple[str, int, float], list[NameHit]] = {}

    def __len__(self) -> int:
        return len(self._entry_keys)

    def add(self, customer_key: str, name: str) -> None:
        key = match_key(name)
        if not key or (customer_key, key) in self._entry_ids:
            return
        entry = len(self._entry_keys)
        self._last_word_entries.clear()
        self._cached_entries = 0
        self._searched.clear()
        self._entry_ids[(customer_key, key)] = entry
        self._entry_keys.append(customer_key)
        self._entry_names.append(key)
        self._entry_display.append(name)
        for word in set(key.split()):
            postings = self._postings.get(word)
            if postings is None:
                self._postings[word] = {entry}
                self._vocabulary = None
            else:
                postings.add(entry)

    def _prefix_words(self, prefix: str) -> list[str]:
        if self._vocabulary is None:
            self._vocabulary = sorted(self._postings)
        start = bisect.bisect_left(self._vocabulary, prefix)
        words: list[str] = []
        for word in self._vocabulary[start : start + self.MAX_PREFIX_WORDS]:
            if not word.startswith(prefix):
                break
            words.append(word)
        return words

    def _last_word(self, last: str) -> set[int]:
        """Entries having `last` as a word, or (three letters or more) a word starting with it.

        Bank names are cut at a field length, so the same truncated word comes back with many payments:
        the union is kept until the next `add`. The caller must not change the set.
        """
        found = self._last_word_entries.get(last)
        if found is None:
            words = [last] if last in self._postings else []
            if len(last) >= 3:
                words += [word for word in self._prefix_words(last) if word != last]
            if len(words) == 1:
                found = self._postings[words[0]]  # one word's own postings: nothing to copy
            else:
                found = set()
                for word in words:
                    found |= self._postings[word]
                self._cached_entries += len(found)
            if self._cached_entries > self.MAX_CACHED_ENTRIES:
                self._last_word_entries.clear()
                self._cached_entries = len(found)
            self._last_word_entries[last] = found
        return found

    def _candidates(self, words: list[str]) -> set[int]:
        """Entries having every full word and a word starting with the (maybe truncated) last one."""
        sets = [self._postings[word] for word in words[:-1] if word in self._postings]
        last_set = self._last_word(words[-1])
        if last_set:
            sets.append(last_set)
        if not sets:
            return set()
        sets.sort(key=len)
        found = sets[0]  # never changed: narrowing makes new sets
        for other in sets[1:]:
            narrowed = found & other
            if not narrowed:
                break  # a misspelt or extra word: keep what the rarer words agree on
            found = narrowed
        if len(found) > self.MAX_CANDIDATES:
            found = set(sorted(found)[: self.MAX_CANDIDATES])
        return found

    def search(self, name: str, *, limit: int = 5, cutoff: float = 85.0) -> list[NameHit]:
        """Customers whose names resemble `name`, best first, one hit per customer.

        A bank name that is a prefix of a customer's name (cut at the bank's field length) scores as an
        exact match: that is exactly the case that makes look-alike companies indistinguishable.
        """
        query = match_key(name)
        if not query:
            return []
        asked = (query, limit, cutoff)
        hits = self._searched.get(asked)
        if hits is None:
            hits = self._search(query, limit, cutoff)
            if len(self._searched) >= self.MAX_CACHED_SEARCHES:
                self._searched.clear()
            self._searched[asked] = hits
        return list(hits)

    def _search(self, query: str, limit: int, cutoff: float) -> list[NameHit]:
        candidates = self._candidates(query.split())
        if not candidates:
            return []
        # in entry order (the order names were added), so equal scores rank the same on every run
        entries = sorted(candidates)
        names = self._entry_names
        scored = process.extract(
            query,
            [names[entry] for entry in entries],
            scorer=fuzz.token_set_ratio,
            score_cutoff=cutoff,
            limit=None,
        )
        prefix_counts = len(query) >= 8
        customers = self._entry_keys
        best: dict[str, tuple[float, int]] = {}  # customer -> its best score and the entry scoring it
        for entry_name, score, position in scored:
            entry = entries[position]
            if prefix_counts and entry_name.startswith(query):
                score = 100.0
            customer = customers[entry]
            known = best.get(customer)
            if known is None or known[0] < score:
                best[customer] = (score, entry)
        display = self._entry_display
        ranked = heapq.nsmallest(limit, best.items(), key=lambda pair: (-pair[1][0], display[pair[1][1]]))
        return [NameHit(customer, display[entry], float(score)) for customer, (score, entry) in ranked]
