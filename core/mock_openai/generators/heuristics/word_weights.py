"""How much each word says about a text, and which words mean the same, for the mock's embeddings.

A word's weight is its rarity in English, from the frequency table the `wordfreq` wheel ships (no
download): `RARITY_CEILING` minus its Zipf frequency (3 = once per million words), floored at
`MIN_WEIGHT`: "experience" (Zipf 5.3) weighs 2.2, "kubernetes" (2.3) 5.2. A word the table does not
know is mostly a name, a typo or a PDF fragment, and weighs `UNKNOWN_WEIGHT`: given more, such words
only add noise through hash collisions (measured, docs/BENCHMARKS.md "Match quality on real CVs").
Numbers ("24", "2017") carry little meaning and weigh `NUMBER_WEIGHT`.

Aliases (k8s, reactjs, ML) count as the word they stand for, so a CV and a job that name one thing two
ways still share it; a two-word phrase alias ("machine learning") adds its word as well.

Words are looked up by the same 64-bit hash `text_features` gives them, in one sorted array, so the
lookup is a vectorised binary search with no Python code per word.
"""

from __future__ import annotations

from functools import cache

import numpy as np

RARITY_CEILING = 7.5
MIN_WEIGHT = 0.5
NUMBER_WEIGHT = 0.5
UNKNOWN_WEIGHT = 2.0
# Alias -> the word it stands for. Both sides are single words as `text_features.words` splits them.
WORD_ALIASES = {
    "k8s": "kubernetes",
    "reactjs": "react",
    "nodejs": "node",
    "vuejs": "vue",
    "angularjs": "angular",
    "postgres": "postgresql",
    "psql": "postgresql",
    "mssql": "sqlserver",
    "js": "javascript",
    "ts": "typescript",
    "py": "python",
    "golang": "go",
    "rn": "nurse",
    "cpa": "accountant",
}
# Two words -> the one word they are known by (added to the text's words, the pair's own words stay).
PHRASE_ALIASES = {
    ("machine", "learning"): "ml",
    ("deep", "learning"): "ml",
    ("artificial", "intelligence"): "ai",
    ("natural", "language"): "nlp",
    ("human", "resources"): "hr",
    ("human", "resource"): "hr",
    ("quality", "assurance"): "qa",
    ("database", "administrator"): "dba",
    ("database", "administration"): "dba",
    ("front", "end"): "frontend",
    ("back", "end"): "backend",
    ("web", "design"): "webdesign",
    ("web", "designing"): "webdesign",
    ("sql", "server"): "sqlserver",
    ("registered", "nurse"): "nurse",
    ("dot", "net"): "dotnet",
    ("asp", "net"): "dotnet",
    ("net", "core"): "dotnet",
    ("node", "js"): "node",
    ("react", "js"): "react",
    ("vue", "js"): "vue",
}


class _SortedTable:
    """Values looked up by uint64 key with one vectorised binary search."""

    def __init__(self, keys: np.ndarray, targets: np.ndarray, weights: np.ndarray):
        order = np.argsort(keys, kind="stable")  # equal hashes (a few words write alike): the first wins
        self.keys, self.targets, self.weights = keys[order], targets[order], weights[order]

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether each hash is a key, the position of its entry where it is)."""
        positions = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        return self.keys[positions] == hashes, positions


class Lexicon:
    """Word hashes with the hash each counts as (its alias target) and its weight; phrase aliases."""

    def __init__(self, words: _SortedTable, phrases: _SortedTable, unknown_weight: float):
        self.words, self.phrases, self.unknown_weight = words, phrases, unknown_weight

    def look_up(self, hashes: np.ndarray, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hash each word counts as, its weight); `numbers` marks words that start with a digit."""
        known, positions = self.words.find(hashes)
        counted = np.where(known, self.words.targets[positions], hashes)
        weights = np.where(known, self.words.weights[positions], self.unknown_weight)
        return counted, np.where(numbers, NUMBER_WEIGHT, weights)

    def phrase_words(self, pair_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(index of each pair that is a phrase alias, the word it adds, that word's weight)."""
        known, positions = self.phrases.find(pair_keys)
        hits = np.flatnonzero(known)
        return hits, self.phrases.targets[positions[hits]], self.phrases.weights[positions[hits]]


@cache
def english_lexicon() -> Lexicon:
    """Built once per process from wordfreq's English table (about 320,000 words, a quarter second).

    The table is read straight from the wheel's file rather than through `get_frequency_dict`, which
    would keep its 320,000-entry dictionary cached for the life of the (mock worker) process.
    """
    from wordfreq import available_languages, read_cBpack

    from .text_features import pair_key, single_word_hashes, word_hash

    buckets = read_cBpack(str(available_languages("large")["en"]))  # bucket i: words at -i centibels
    vocabulary = [word for bucket in buckets for word in bucket]
    zipf = np.repeat((900 - np.arange(len(buckets))) / 100, [len(bucket) for bucket in buckets])
    del buckets
    hashes, kept = single_word_hashes(vocabulary)
    del vocabulary
    words = _SortedTable(hashes, hashes, np.maximum(MIN_WEIGHT, RARITY_CEILING - zipf[kept]))

    def hashes_and_weights(targets) -> tuple[np.ndarray, np.ndarray]:
        """The hashes of alias targets and the weights the table gives them."""
        target_hashes = np.array([word_hash(target) for target in targets], dtype=np.uint64)
        known, positions = words.find(target_hashes)
        return target_hashes, np.where(known, words.weights[positions], UNKNOWN_WEIGHT)

    alias_keys = np.array([word_hash(alias) for alias in WORD_ALIASES], dtype=np.uint64)
    alias_targets, alias_weights = hashes_and_weights(WORD_ALIASES.values())
    phrase_targets, phrase_weights = hashes_and_weights(PHRASE_ALIASES.values())
    plain = ~np.isin(words.keys, alias_keys)
    with_aliases = _SortedTable(
        np.concatenate([words.keys[plain], alias_keys]),
        np.concatenate([words.targets[plain], alias_targets]),
        np.concatenate([words.weights[plain], alias_weights]),
    )
    phrase_keys = [pair_key(word_hash(first), word_hash(second)) for first, second in PHRASE_ALIASES]
    phrases = _SortedTable(np.array(phrase_keys, dtype=np.uint64), phrase_targets, phrase_weights)
    return Lexicon(with_aliases, phrases, UNKNOWN_WEIGHT)
