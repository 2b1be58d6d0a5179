"""How much each word says about a text, and which words mean the same, for the mock's embeddings.

A word's weight is its rarity in English, from the frequency table the `wordfreq` wheel ships (no
download): `RARITY_CEILING` minus its Zipf frequency (3 = once per million words), floored at
`MIN_WEIGHT`: "experience" (Zipf 5.3) weighs 2.2, "kubernetes" (2.3) 5.2. A word the table does not
know is mostly a name, a typo or a PDF fragment, and weighs `UNKNOWN_WEIGHT`: given more, such words
only add noise through hash collisions (measured, docs/BENCHMARKS.md "Match quality on real CVs").
Numbers ("24", "2017") carry little meaning and weigh `NUMBER_WEIGHT`.

Aliases (k8s, reactjs, ML) count as the word they stand for, so a CV and a job that name one thing two
ways still share it; a two-word phrase alias ("machine learning") adds its word as well. An occupation
and its field ("accounting", "accountant") are aliases of one word too.

Words are looked up by the same 64-bit hash `text_features` gives them, in one sorted array, so the
lookup is a vectorised binary search with no Python code per word. The table is kept compact (hash,
float32 weight and a uint16 alias slot a word) and built from the wheel's file as a stream: each mock
worker builds its own, and issue 13 bounds a worker's memory.
"""

from __future__ import annotations

import gzip
import importlib.util
from functools import cache
from pathlib import Path

import msgpack
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
# An occupation and its field, and their inflections, count as one word ("accounting" experience
# meets an "accountant" ad, "nursing" a "nurse"): the person and the work are one skill. Words shared by
# unrelated trades ("development": business or software, "administration", "training") are left out.
OCCUPATION_FAMILIES = {
    "accountant": ("accountants", "accounting", "accountancy"),
    "teacher": ("teachers", "teaching"),
    "nurse": ("nurses", "nursing"),
    "cook": ("cooks", "cooking", "culinary"),
    "designer": ("designers", "design", "designs", "designing"),
    "engineer": ("engineers", "engineering"),
    "consultant": ("consultants", "consulting", "consultancy"),
    "banker": ("bankers", "banking"),
    "marketer": ("marketers", "marketing"),
    "programmer": ("programmers", "programming"),
    "tester": ("testers", "testing"),
    "recruiter": ("recruiters", "recruiting", "recruitment"),
    "lawyer": ("lawyers", "attorney", "attorneys"),
    "architect": ("architects", "architecture", "architectural"),
    "photographer": ("photographers", "photography"),
    "writer": ("writers", "writing"),
    "editor": ("editors", "editing"),
    "auditor": ("auditors", "auditing", "audit", "audits"),
    "electrician": ("electricians",),
    "plumber": ("plumbers", "plumbing"),
    "carpenter": ("carpenters", "carpentry"),
    "cashier": ("cashiers",),
    "farmer": ("farmers", "farming"),
    "agriculture": ("agricultural",),
    "pharmacist": ("pharmacists", "pharmacy"),
    "therapist": ("therapists", "therapy"),
    "counselor": ("counselors", "counseling", "counselling", "counsellor", "counsellors"),
    "tutor": ("tutors", "tutoring"),
    "coach": ("coaches", "coaching"),
    "baker": ("bakers", "baking", "bakery"),
    "translator": ("translators", "translation", "translating"),
    "sales": ("selling", "salesperson", "salesman", "salesmen"),
    "finance": ("financial", "financing", "finances"),
    "pilot": ("pilots",),
    "aviation": ("aircraft", "airline", "airlines"),
    "mechanic": ("mechanics",),
    "physician": ("physicians", "doctor", "doctors"),
    "nutritionist": ("nutritionists", "nutrition", "nutritional", "dietitian", "dietician"),
    "journalist": ("journalists", "journalism"),
    "merchandiser": ("merchandisers", "merchandising"),
    "paralegal": ("paralegals",),
    "chef": ("chefs",),
    "trainer": ("trainers",),
    "analyst": ("analysts",),
    "developer": ("developers",),
    "manager": ("managers",),
}
WORD_ALIASES.update({variant: word for word, variants in OCCUPATION_FAMILIES.items() for variant in variants})
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

    def __init__(self, keys: np.ndarray, **values: np.ndarray):
        order = np.argsort(keys, kind="stable")  # equal hashes (a few words write alike): the first wins
        self.keys = keys[order]
        for name, column in values.items():
            setattr(self, name, column[order])

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether each hash is a key, the position of its entry where it is)."""
        positions = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        return self.keys[positions] == hashes, positions

    def find_repeated(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``find`` for many hashes, few of them distinct (a chunk's words): each distinct hash is searched
        once. A search in the large table misses the processor's caches at nearly every step; sorting the
        hashes to find the distinct ones costs a tenth of searching them all."""
        distinct, where = np.unique(hashes, return_inverse=True)
        known, positions = self.find(distinct)
        return known[where], positions[where]


class Lexicon:
    """Word weights by hash, which words are aliases and the hash each stands for, and the phrase aliases.

    The word table holds hashes (uint64), weights (float32) and an alias slot (uint16, 0 for a word that
    counts as itself), 14 bytes a word, about 4.5 MB for English; an alias weighs what its target does.
    """

    def __init__(self, words: _SortedTable, alias_targets: np.ndarray, phrases: _SortedTable):
        self.words, self.alias_targets, self.phrases = words, alias_targets, phrases

    def look_up(self, hashes: np.ndarray, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hash each word counts as, its weight); `numbers` marks words that start with a digit."""
        known, positions = self.words.find_repeated(hashes)
        slots = np.where(known, self.words.slots[positions], 0)
        counted = np.where(slots > 0, self.alias_targets[slots], hashes)
        weights = np.where(known, self.words.weights[positions], np.float32(UNKNOWN_WEIGHT))
        return counted, np.where(numbers, NUMBER_WEIGHT, weights.astype(np.float64))

    def phrase_words(self, pair_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(index of each pair that is a phrase alias, the word it adds, that word's weight)."""
        known, positions = self.phrases.find(pair_keys)
        hits = np.flatnonzero(known)
        return hits, self.phrases.targets[positions[hits]], self.phrases.weights[positions[hits]]


def _frequency_buckets():
    """wordfreq's large English table, one list of words at a time (list i: words at -i centibels).

    The file is read from the installed wheel with msgpack (wordfreq's own dependency) as a stream,
    without importing wordfreq (its tokenizers cost a mock worker about 11 MB) and without holding
    its 320,000 words at once (freed small strings leave the worker's heap fragmented, measured
    about 70 MB).
    """
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("wordfreq is a dependency of the mock's embeddings")
    path = Path(spec.submodule_search_locations[0]) / "data" / "large_en.msgpack.gz"
    with gzip.open(path, "rb") as packed:
        unpacker = msgpack.Unpacker(packed, raw=False)
        lists = unpacker.read_array_header()
        header = unpacker.unpack()
        if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
            raise ValueError(f"{path}: not a cBpack file version 1 ({header!r})")
        for _ in range(lists - 1):
            yield unpacker.unpack()


@cache
def english_lexicon() -> Lexicon:
    """Built once per process from wordfreq's English table (about 320,000 words, under a second)."""
    from .text_features import pair_key, single_word_hashes, word_hash

    hash_parts, weight_parts = [], []
    for centibels, bucket in enumerate(_frequency_buckets()):
        if bucket:
            hashes, _ = single_word_hashes(bucket)
            hash_parts.append(hashes)
            weight = max(MIN_WEIGHT, RARITY_CEILING - (900 - centibels) / 100)
            weight_parts.append(np.full(len(hashes), weight, dtype=np.float32))
    english = _SortedTable(np.concatenate(hash_parts), weights=np.concatenate(weight_parts))
    del hash_parts, weight_parts

    def hashes_and_weights(targets) -> tuple[np.ndarray, np.ndarray]:
        """The hashes of alias targets and the weights the table gives them."""
        target_hashes = np.array([word_hash(target) for target in targets], dtype=np.uint64)
        known, positions = english.find(target_hashes)
        return target_hashes, np.where(known, english.weights[positions], np.float32(UNKNOWN_WEIGHT))

    alias_keys = np.array([word_hash(alias) for alias in WORD_ALIASES], dtype=np.uint64)
    alias_targets, alias_weights = hashes_and_weights(WORD_ALIASES.values())
    phrase_keys = [pair_key(word_hash(first), word_hash(second)) for first, second in PHRASE_ALIASES]
    phrase_targets, phrase_weights = hashes_and_weights(PHRASE_ALIASES.values())
    phrases = _SortedTable(np.array(phrase_keys, dtype=np.uint64), targets=phrase_targets, weights=phrase_weights)
    # The aliases come first, so that where an alias is also an English word its alias entry is the one kept.
    keys = np.concatenate([alias_keys, english.keys])
    words = _SortedTable(
        keys,
        weights=np.concatenate([alias_weights, english.weights]),
        slots=np.concatenate([np.arange(1, len(alias_keys) + 1), np.zeros(len(english.keys))]).astype(np.uint16),
    )
    del keys
    first = np.concatenate([[True], words.keys[1:] != words.keys[:-1]])
    words.keys, words.weights, words.slots = words.keys[first], words.weights[first], words.slots[first]
    return Lexicon(words, np.concatenate([np.zeros(1, dtype=np.uint64), alias_targets]), phrases)
