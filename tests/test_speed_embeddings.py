"""The embeddings' word lookup searches each distinct hash of a chunk once: it must find what a search of
every hash finds, for hashes in the table and not, repeated or not."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from core.mock_openai.generators.heuristics.word_weights import english_lexicon
from tests.fuzz_budget import FUZZ


@FUZZ
@given(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 299_999), max_size=300), st.integers(0, 2**32))
def test_a_lookup_of_the_distinct_hashes_finds_what_a_lookup_of_each_finds(picks, seed):
    table = english_lexicon().words
    # Table hashes (by index), other hashes, each possibly many times, in any order.
    hashes = np.array([table.keys[pick % len(table.keys)] if pick < 300_000 else pick for pick in picks], np.uint64)
    hashes = np.random.default_rng(seed).permutation(np.concatenate([hashes, hashes[: len(hashes) // 2]]))
    known, positions = table.find(hashes)
    found, where = table.find_repeated(hashes)
    assert np.array_equal(found, known)
    assert np.array_equal(where, positions)
