"""Match explanations for the mock, grounded in the prompt: shared skills, missing ones, the score.

The prompt is split into a candidate part and a job part by headings such as "Candidate:", "CV",
"Resume" and "Job:", "Job description", "Position", "Role" (Markdown or plain, any case). Skills are
the job's listed items (comma-separated lists, "Skills:" lines) or, when it lists none, its
technical-looking words (capitalised mid-sentence, or containing digits, "+", "#", "."); each is
shared when the candidate part mentions it and missing otherwise. A "Score: 0.82" (or "Similarity",
or a percentage) anywhere in the prompt is quoted.

The strength word rests on the evidence, not on the raw cosine: the share of the job's skills the CV
shows, whether the CV names the job's title, and the score read against the mock's own cosine scale
(its hashed embeddings give a well-matched CV and job about 0.3 to 0.5, far below OpenAI's). A CV that
covers nearly all the job lists is never called weak.
"""

import functools
import re

from .text_features import STOPWORDS, terms

# A candidate heading wins over a job heading (both open with the one run of non-word characters).
_HEADING = re.compile(
    r"^\W*(?:(?P<candidate>candidate|cv|resume|résumé|applicant)|(?P<job>job|position|role|vacancy|posting|opening))\b",
    re.IGNORECASE,
)
_SHORT_HEADING = 60  # a heading without a colon is a short line
_SCORE_RE = re.compile(
    r"\b(?:match\s+score|similarity(?:\s+score)?|score|cosine)\b\s*[:=]?\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<percent>%)?",
    re.IGNORECASE,
)
_JOB_AD_WORDS = """
    experience years year team teams work working role job candidate skills skill strong ability including
    responsibilities requirements required preferred plus looking hiring join help build building using use
    knowledge good great excellent new based within across company we our you your will must nice have
    senior junior lead level day days time part full remote hybrid office
"""
_GENERIC_WORDS = STOPWORDS | frozenset(_JOB_AD_WORDS.split())
_OTHER_LABEL = re.compile(r"^\W*[A-Za-z][A-Za-z ]{1,30}:\s")
MAX_SHARED = 8
MAX_MISSING = 6
STRONG_COVERAGE = 0.75  # of the job's skills shown in the CV
MODERATE_COVERAGE = 0.4
# The mock's cosine scale (bench_match_quality: a CV's best job scores 0.25 to 0.5 on real CVs).
STRONG_SCORE = 0.45
MODERATE_SCORE = 0.25
_TITLE_LINE = re.compile(r"^\W*(?:job\s+)?title\s*:\s*(?P<title>.+)$", re.IGNORECASE | re.MULTILINE)
_SCORE_WORDS = ("score", "similarity", "cosine")  # every match of _SCORE_RE holds one of them
# The only characters that an IGNORECASE pattern matches to an ASCII letter although str.lower() does not
# turn them into that letter (İ, which lowers to two characters; dotless i and long s, which stay): without
# them, an ASCII word found case-blind by the regular expression is found by str.find in the lowered text,
# at the same place (tests/test_speed_explanation.py checks the list against every character).
_UNLOWERED_CHARACTERS = ("\u0130", "\u0131", "\u017f")
_MATCH_TRIES = 4  # appearances of an item tried one by one before the rest of the CV is searched


def split_candidate_and_job(prompt: str) -> tuple[str, str]:
    """The candidate part and the job part of an explanation prompt ("" where no heading was found)."""
    parts = {"candidate": [], "job": [], None: []}
    current = None
    for line in prompt.splitlines():
        if len(line) < _SHORT_HEADING or ":" in line[:40]:
            heading = _HEADING.match(line)
            if heading:
                current = heading.lastgroup
        parts[current].append(line)
    return "\n".join(parts["candidate"]), "\n".join(parts["job"])


def _lowered(text: str) -> str | None:
    """``text`` lowered, where an ASCII word's case-blind matches sit at the same places; else None.

    Each of the three characters is looked for alone: that is a fraction of one search for any of them."""
    lowered = text.lower()
    if text.isascii():
        return lowered
    if len(lowered) != len(text) or any(char in text for char in _UNLOWERED_CHARACTERS):
        return None
    return lowered


def find_score(prompt: str) -> float | None:
    """The match score quoted in the prompt, as a fraction (82% and 0.82 both give 0.82).

    The score is the prompt's last line, behind a CV and a job ad: a case-blind pattern that opens with a
    word boundary is tried at every character, so the search starts where a score word first appears."""
    start = 0
    lowered = _lowered(prompt)
    if lowered is not None:
        found = [at for word in _SCORE_WORDS if (at := lowered.find(word)) >= 0]
        if not found:
            return None
        # "match<whitespace>score" starts before its "score".
        start = max(0, len(prompt[: min(found)].rstrip()) - len("match"))
    match = _SCORE_RE.search(prompt, start)
    if not match:
        return None
    value = float(match["value"])
    return value / 100 if match["percent"] or value > 1 else value


def _listed_items(text: str) -> list[str]:
    """Items of skill lists: a "Skills:"-style line, or a line of three or more short comma-separated items."""
    return [item for line in text.splitlines() for item in _line_items(line)]


@functools.lru_cache(maxsize=2048)
def _line_items(line: str) -> tuple[str, ...]:
    """One line's items; remembered, as a job's lines come back with each of the CVs it is explained for."""
    labelled = re.match(
        r"^\W*(?:key\s+|required\s+|core\s+)?(skills|requirements|tools|technologies)\b[^:]*:", line, re.I
    )
    if not labelled and _OTHER_LABEL.match(line):
        return ()  # "Location: Chicago, IL, USA" is not a list of skills
    body = line[labelled.end() :] if labelled else line
    parts = [part.strip(" .-*•[]'\"") for part in re.split(r"[,;]", body)]
    parts = [part for part in parts if part and part.lower() not in _GENERIC_WORDS]
    short = parts and sum(len(part.split()) for part in parts) / len(parts) <= 2.5
    if labelled or (len(parts) >= 3 and short):
        return tuple(part for part in parts if len(part.split()) <= 4)
    return ()


def _technical_terms(text: str) -> list[str]:
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        for position, term in enumerate(terms(sentence)):
            technical = any(ch.isdigit() or ch in "+#." for ch in term) or (position > 0 and term[0].isupper())
            if technical and term.lower() not in _GENERIC_WORDS and len(term) > 1:
                found.append(term.rstrip("."))
    return found


class _Mentions:
    """Whether a text names an item as a whole word, case-blind.

    Each item is a case-blind pattern with look-arounds, which the regular expression engine tries at
    every character of the CV; an ASCII item is looked for in the lowered text instead, and the pattern
    tried only where it appears."""

    def __init__(self, text: str):
        self.text = text
        self.lowered = _lowered(text)

    def __call__(self, item: str) -> bool:
        pattern = _word_pattern(item)
        if self.lowered is None or not item.isascii():
            return pattern.search(self.text) is not None
        needle = item.lower()
        at = self.lowered.find(needle)
        for _ in range(_MATCH_TRIES):  # "Go" is first found in "Google": try the pattern where the item is
            if at < 0:
                return False
            if pattern.match(self.text, at):
                return True
            at = self.lowered.find(needle, at + 1)
        return at >= 0 and pattern.search(self.text, at) is not None  # "R", "C": one search beats many tries


@functools.lru_cache(maxsize=4096)
def _word_pattern(item: str) -> re.Pattern:
    return re.compile(rf"(?<![\w+#]){re.escape(item)}(?![\w+#])", re.IGNORECASE)


def compare(prompt: str) -> dict:
    """Shared and missing skills between the candidate and the job of the prompt, and its score."""
    candidate, job = split_candidate_and_job(prompt)
    mentions = _Mentions(candidate)
    shared, missing, seen = [], [], set()
    for item in _listed_items(job) or _technical_terms(job):
        key = item.lower()
        if key in seen:
            continue
        seen.add(key)
        (shared if candidate and mentions(item) else missing).append(item)
    title = _TITLE_LINE.search(job)
    title_words = [word for word in terms(title["title"]) if word.lower() not in _GENERIC_WORDS] if title else []
    return {
        "shared": shared[:MAX_SHARED],
        "missing": missing[:MAX_MISSING],
        "coverage": len(shared) / len(seen) if seen else 0.0,
        "title_match": bool(title_words) and all(mentions(word) for word in title_words),
        "score": find_score(prompt),
    }


def strength(facts: dict) -> str:
    """The strength word ("a strong", "a moderate", "a weak") from skill coverage, title and calibrated score."""
    coverage, title_match, score = facts["coverage"], facts["title_match"], facts["score"] or 0.0
    if coverage >= STRONG_COVERAGE or (coverage >= MODERATE_COVERAGE and (title_match or score >= STRONG_SCORE)):
        return "a strong"
    if coverage >= MODERATE_COVERAGE or title_match or score >= MODERATE_SCORE:
        return "a moderate"
    return "a weak"


def explanation_text(prompt: str) -> str:
    return _explanation(compare(prompt))


def _explanation(facts: dict) -> str:
    sentences = []
    if facts["score"] is not None:
        sentences.append(f"With a match score of {facts['score']:.2f}, this is {strength(facts)} match.")
    else:
        sentences.append(f"This is {strength(facts)} match.")
    if facts["shared"]:
        sentences.append(f"The candidate and the job share {', '.join(facts['shared'])}.")
    else:
        sentences.append("The CV shows little of what the job asks for.")
    if facts["missing"]:
        sentences.append(f"Not evidenced in the CV: {', '.join(facts['missing'])}.")
    else:
        sentences.append("Nothing the job lists is missing from the CV.")
    return " ".join(sentences)


def explanation_payload(prompt: str) -> dict:
    """The explanation as JSON, for requests that ask for a JSON answer."""
    facts = compare(prompt)
    text = _explanation(facts)
    return {
        "explanation": text,
        "summary": text,
        "shared_skills": facts["shared"],
        "matching_skills": facts["shared"],
        "missing_skills": facts["missing"],
        "score": facts["score"],
        "strength": strength(facts).split()[-1],
    }
