"""Words of a text and deterministic embeddings built from them (signed feature hashing).

The mock's embeddings must make matching meaningful: texts that say the same things get close vectors.
Each word and each pair of neighbouring words is hashed into one of `dimensions` buckets with a sign,
weighted by how rare the word is in English (heuristics.word_weights: "kubernetes" counts for more
than "experience"), and the sums are L2-normalised, so cosine similarity grows with shared words and
phrases, the telling ones most. Aliases (k8s, "machine learning", "nursing") count as the word they
stand for; the first line, a title, counts for more (HEADLINE_WEIGHT, HEADLINE_SHARE).
It must also be fast (50,000 inputs of ~120 words in a few seconds): after one `bytes.translate` per
text, words are found, hashed (a polynomial hash through a prefix sum) and weighted (a binary search
in a sorted table) by numpy, with no Python code per word. Python's `hash()` is salted per process and
is never used.
"""

import re
import zlib
from collections.abc import Sequence

import numpy as np

from .word_weights import english_lexicon

_WORD_CHARACTERS = set(b"abcdefghijklmnopqrstuvwxyz0123456789+#") | set(range(0x80, 0x100))  # UTF-8 kept whole
_TO_WORD_BYTES = bytes(
    byte + 32 if 65 <= byte <= 90 else (byte if byte in _WORD_CHARACTERS else 32) for byte in range(256)
)
_STOPWORD_LIST = """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves us per via etc
"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())
MAX_GROUP_BYTES = 1 << 20  # texts are hashed in groups of about this much UTF-8
BIGRAM_WEIGHT = 0.25  # of the rarer word's weight; measured: more dilutes the words themselves
# A text's first line is its headline (a job's title, a profile's label: core/stages/profile_text.py
# puts them first): its words count HEADLINE_WEIGHT times a body word's, and the headline makes at least
# HEADLINE_SHARE of the vector (headline and body normalised apart), so a long CV's body does not drown
# its title. Measured on three real CV collections (docs/BENCHMARKS.md, "Match quality on real CVs"):
# the share 0.3 and 0.4 tie on the two it was chosen on, 0.3 ranks better in the top 3.
HEADLINE_WEIGHT = 3.0
HEADLINE_SHARE = 0.3
_BASE = 0x100000001B3  # odd, so it has an inverse modulo 2**64
_MASK64 = (1 << 64) - 1
_PAIR_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_PAIR_SALT = np.uint64(0xA5A5A5A5A5A5A5A5)
_DIGITS = np.uint8(ord("0")), np.uint8(ord("9"))


def _powers(base: int, count: int) -> np.ndarray:
    """base**0 .. base**(count-1) modulo 2**64 (numpy's uint64 arithmetic wraps)."""
    powers = np.empty(count, dtype=np.uint64)
    powers[0] = 1
    np.cumprod(np.full(count - 1, base, dtype=np.uint64), out=powers[1:])
    return powers


class _PowerTables:
    """Powers of the hash base and of its inverse, grown on demand and shared by all calls."""

    def __init__(self):
        self.size = 0

    def get(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        if count > self.size:
            self.size = max(count, MAX_GROUP_BYTES + 1)
            self.forward = _powers(_BASE, self.size)
            self.inverse = _powers(pow(_BASE, -1, 1 << 64), self.size)
        return self.forward[:count], self.inverse


_POWER_TABLES = _PowerTables()


def word_hash(word: str) -> int:
    """The hash `_word_hashes` gives a word: sum of byte_i * BASE**i modulo 2**64."""
    value, power = 0, 1
    for byte in word.encode():
        value = (value + byte * power) & _MASK64
        power = (power * _BASE) & _MASK64
    return value


_STOPWORD_HASHES = np.array(sorted(word_hash(word) for word in STOPWORDS), dtype=np.uint64)
_LOW_BITS = np.uint64(0xFFFF)
_STOPWORD_LOW_BITS = np.zeros(1 << 16, dtype=bool)  # a quick pre-filter: exact checks only where this hits
_STOPWORD_LOW_BITS[(_STOPWORD_HASHES & _LOW_BITS).astype(np.intp)] = True


def _lowered(text: str) -> bytes:
    """The text's UTF-8, lower-cased (ASCII capitals are lowered by the translation table)."""
    return text.encode("utf-8", "replace") if text.isascii() else text.lower().encode("utf-8", "replace")


def words(text: str) -> bytes:
    """The text lower-cased, with every byte that is not part of a word (letters, digits, `+`, `#`, so
    "C++" and "C#" survive, and any non-ASCII UTF-8) turned into a space."""
    return _lowered(text).translate(_TO_WORD_BYTES)


def _all_word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hash of every word of the texts, the index of the text each comes from, whether it starts with a
    digit and whether it is in the text's first line (all of a one-line text).

    The texts are joined with NUL separators into one byte array; word starts and ends come from where
    the "is a word byte" mask flips, and each word's polynomial hash from one prefix sum, so no Python
    code runs per word.
    """
    encoded = [_lowered(text) for text in texts]
    headline_ends = np.array([data.find(b"\n") % (len(data) + 1) for data in encoded], dtype=np.int64)
    data = b"\x00".join([text.translate(_TO_WORD_BYTES) for text in encoded]) + b"\x00"
    buffer = np.frombuffer(data, dtype=np.uint8)
    forward, inverse = _POWER_TABLES.get(len(buffer))
    edges = np.diff((buffer > 32).view(np.int8), prepend=np.int8(0))  # word bytes are all above space
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    prefix = np.zeros(len(buffer) + 1, dtype=np.uint64)
    np.cumsum(np.multiply(buffer, forward, dtype=np.uint64), out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * inverse[starts]
    separators = np.flatnonzero(buffer == 0)
    rows = np.searchsorted(separators, starts)
    text_starts = np.concatenate([[0], separators[:-1] + 1])
    headline = starts - text_starts[rows] < headline_ends[rows]
    first = buffer[starts]
    return hashes, rows, (first >= _DIGITS[0]) & (first <= _DIGITS[1]), headline


def _word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_all_word_hashes` without the stopwords."""
    hashes, rows, numbers, headline = _all_word_hashes(texts)
    candidates = np.flatnonzero(_STOPWORD_LOW_BITS[(hashes & _LOW_BITS).astype(np.intp)])
    kept = np.ones(len(hashes), dtype=bool)
    kept[candidates] = ~np.isin(hashes[candidates], _STOPWORD_HASHES)
    return hashes[kept], rows[kept], numbers[kept], headline[kept]


def single_word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The hash of each text that is exactly one word, and the indexes of those texts."""
    found_hashes, found_indexes, offset = [], [], 0
    for group in _groups(texts):
        hashes, rows, _, _ = _all_word_hashes(group)
        single = np.flatnonzero(np.bincount(rows, minlength=len(group)) == 1)
        found_hashes.append(hashes[np.isin(rows, single)])
        found_indexes.append(single + offset)
        offset += len(group)
    return np.concatenate(found_hashes), np.concatenate(found_indexes)


def pair_key(first: np.ndarray | int, second: np.ndarray | int):
    """The key of two neighbouring words' hashes (modulo 2**64, for numpy arrays and ints alike)."""
    if isinstance(first, int):
        return (first * int(_PAIR_MULTIPLIER) + second) & _MASK64
    return first * _PAIR_MULTIPLIER + second


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the hashes over 64 bits so buckets and signs are independent."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def _embed_group(texts: Sequence[str], dimensions: int) -> np.ndarray:
    count = len(texts)
    hashes, rows, numbers, headline = _word_hashes(texts)
    lexicon = english_lexicon()
    counted, word_weights = lexicon.look_up(hashes, numbers)
    neighbours = rows[1:] == rows[:-1]
    pairs = pair_key(counted[:-1][neighbours], counted[1:][neighbours]) ^ _PAIR_SALT
    pair_weights = BIGRAM_WEIGHT * np.minimum(word_weights[:-1], word_weights[1:])[neighbours]
    pair_rows = rows[:-1][neighbours]
    pair_headline = (headline[:-1] & headline[1:])[neighbours]
    phrases, phrase_words, phrase_weights = lexicon.phrase_words(pair_key(hashes[:-1], hashes[1:])[neighbours])
    features = _mix(np.concatenate([counted, pairs, phrase_words]))
    feature_rows = np.concatenate([rows, pair_rows, pair_rows[phrases]])
    in_headline = np.concatenate([headline, pair_headline, headline[:-1][neighbours][phrases]])
    weights = np.concatenate([word_weights, pair_weights, phrase_weights])
    weights *= np.where(features & np.uint64(1), 1.0, -1.0)
    buckets = (((features >> np.uint64(32)) * np.uint64(dimensions)) >> np.uint64(32)).astype(np.int64)
    matrix = np.bincount(feature_rows * dimensions + buckets, weights=weights, minlength=count * dimensions)
    matrix = matrix.reshape(count, dimensions)
    _share_headline(matrix, feature_rows, in_headline, buckets, weights)

    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    for row in np.flatnonzero(norms == 0):  # nothing but stopwords or punctuation: hash the raw text
        matrix[row, zlib.crc32(texts[row].encode("utf-8", "replace")) % dimensions] = 1.0
        norms[row] = 1.0
    # In place, unless no text had a word (bincount then gives integers).
    matrix = np.divide(matrix, norms[:, None], out=matrix if matrix.dtype == np.float64 else None)
    return matrix.astype(np.float32)


def _share_headline(
    matrix: np.ndarray, feature_rows: np.ndarray, in_headline: np.ndarray, buckets: np.ndarray, weights: np.ndarray
) -> None:
    """Rows of texts with both a headline and a body become share * headline + (1 - share) * body, each
    normalised: the share the headline has with its words counted HEADLINE_WEIGHT times, or HEADLINE_SHARE
    if that is more. Only those rows get a second matrix (a one-line text is all headline: the 50,000-input
    benchmark's texts need none)."""
    if in_headline.all() or not in_headline.any():
        return  # one-line texts, or none with a first line of words
    count, dimensions = matrix.shape
    has_headline = np.bincount(feature_rows[in_headline], minlength=count) > 0
    has_body = np.bincount(feature_rows[~in_headline], minlength=count) > 0
    both = np.flatnonzero(has_headline & has_body)
    if not len(both):
        return
    position = np.full(count, -1, dtype=np.int64)
    position[both] = np.arange(len(both))
    selected = in_headline & (position[feature_rows] >= 0)
    headline = np.bincount(
        position[feature_rows[selected]] * dimensions + buckets[selected],
        weights=weights[selected],
        minlength=len(both) * dimensions,
    ).reshape(len(both), dimensions)
    body = matrix[both]
    body -= headline  # in place, as below: the same operations without new matrices to fill
    headline_norms = np.sqrt(np.einsum("ij,ij->i", headline, headline))
    body_norms = np.sqrt(np.einsum("ij,ij->i", body, body))
    weighted = HEADLINE_WEIGHT * headline_norms
    share = np.maximum(HEADLINE_SHARE, weighted / np.maximum(weighted + body_norms, 1e-300))
    headline *= (share / np.where(headline_norms == 0, 1.0, headline_norms))[:, None]
    body *= ((1 - share) / np.where(body_norms == 0, 1.0, body_norms))[:, None]
    headline += body
    matrix[both] = headline


def _groups(texts: Sequence[str]):
    """The texts in consecutive groups of about MAX_GROUP_BYTES (memory stays flat in their number)."""
    group, group_bytes = [], 0
    for text in texts:
        if group and group_bytes + len(text) > MAX_GROUP_BYTES:
            yield group
            group, group_bytes = [], 0
        group.append(text)
        group_bytes += len(text)
    yield group


def embed_texts(texts: Sequence[str], dimensions: int) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (at least one); the same text always gives the same row."""
    return np.concatenate([_embed_group(group, dimensions) for group in _groups(texts)])


_TERM_RE = re.compile(r"[A-Za-z][A-Za-z0-9+#.\-]*[A-Za-z0-9+#]|[A-Za-z]")


def terms(text: str) -> list[str]:
    """Words as written (case kept, "Node.js" and "CI/CD" parts intact), minus stopwords, in order."""
    return [term for term in _TERM_RE.findall(text) if term.lower() not in STOPWORDS]
