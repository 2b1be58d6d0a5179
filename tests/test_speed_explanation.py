"""The explanation heuristics' shortcuts find what the plain case-blind searches find, on any prompt.

`find_score` starts its search where a score word first appears and `_Mentions` tries an item's pattern
only where the lowered CV holds the item; both rest on str.lower() keeping every case-blind match of an
ASCII word in place, unless the text holds one of the few characters listed in `_UNLOWERED_CHARACTERS`.
"""

from __future__ import annotations

import re
import sys

from hypothesis import given
from hypothesis import strategies as st

from core.mock_openai.generators.heuristics import match_explanation
from core.mock_openai.generators.heuristics.match_explanation import (
    _SCORE_RE,
    _UNLOWERED_CHARACTERS,
    _Mentions,
    find_score,
    split_candidate_and_job,
)
from tests.fuzz_budget import FUZZ

# Characters the shortcuts must get right: case pairs, the characters case-blind matching treats apart
# (İ, dotless i, long s, Kelvin sign, final sigma), word characters and the items' own punctuation.
_ALPHABET = list("aAsSiIkKoOcCeErRmMtThH gGjJvV+#.-_:%=,;\n\t0123456789") + [
    "İ",
    "ı",
    "ſ",
    "K",
    "Σ",
    "ς",
    "é",
    "É",
    "ß",
]
_WORDS = ["score", "Score", "SIMILARITY", "cosine", "match", "ſcore", "ScOrE", "Java", "JavaScript", "go", "C++", "C#"]
_TEXT = st.lists(st.sampled_from(_ALPHABET) | st.sampled_from(_WORDS), max_size=60).map("".join)


def test_unlowered_lists_every_character_case_blind_matching_folds_apart_from_lower():
    ascii_letter = re.compile("[a-z]", re.IGNORECASE)
    for code in range(128, sys.maxunicode + 1):
        char = chr(code)
        if ascii_letter.fullmatch(char) and not (char.lower().isascii() and len(char.lower()) == 1):
            assert char in _UNLOWERED_CHARACTERS, f"U+{code:04X}"


@FUZZ
@given(_TEXT, st.sampled_from(_WORDS) | _TEXT)
def test_mentions_finds_what_the_whole_word_pattern_finds(text, item):
    pattern = re.compile(rf"(?<![\w+#]){re.escape(item)}(?![\w+#])", re.IGNORECASE)
    assert _Mentions(text)(item) == (pattern.search(text) is not None)


@FUZZ
@given(_TEXT)
def test_find_score_reads_the_first_score_the_pattern_finds(prompt):
    match = _SCORE_RE.search(prompt)
    if match is None:
        assert find_score(prompt) is None
    else:
        value = float(match["value"])
        assert find_score(prompt) == (value / 100 if match["percent"] or value > 1 else value)


def test_a_score_behind_match_and_a_line_break_is_read():
    assert find_score("CV text\nMatch \n  score: 82%") == 0.82
    assert find_score("underscore 12\nSimilarity score = 0.4") == 0.4
    assert find_score("ſcore: 0.3") == 0.3  # long s: the shortcut steps aside, the pattern still reads it


_CANDIDATE = re.compile(r"^\W*(candidate|cv|resume|résumé|applicant)\b", re.IGNORECASE)
_JOB = re.compile(r"^\W*(job|position|role|vacancy|posting|opening)\b", re.IGNORECASE)
_LINE = st.sampled_from(
    [
        "Candidate:",
        "## CV",
        "Résumé",
        "cvs",
        "Job posting:",
        "- Role: x",
        "roles",
        "Position",
        "x" * 70,
        "a: " + "y" * 70,
    ]
) | st.text(alphabet="cvjobrolé#-: ", max_size=12)


@FUZZ
@given(st.lists(_LINE, max_size=10).map("\n".join))
def test_headings_split_as_two_separate_patterns_would(prompt):
    """One pattern for both headings, a candidate heading winning, as when each was tried in turn."""
    parts = {"candidate": [], "job": [], None: []}
    current = None
    for line in prompt.splitlines():
        heading = ":" in line[:40] or len(line) < match_explanation._SHORT_HEADING
        if heading and _CANDIDATE.match(line):
            current = "candidate"
        elif heading and _JOB.match(line):
            current = "job"
        parts[current].append(line)
    assert split_candidate_and_job(prompt) == ("\n".join(parts["candidate"]), "\n".join(parts["job"]))
