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

import re

from .text_features import STOPWORDS, terms

_CANDIDATE_HEADING = re.compile(r"^\W*(candidate|cv|resume|résumé|applicant)\b", re.IGNORECASE)
_JOB_HEADING = re.compile(r"^\W*(job|position|role|vacancy|posting|opening)\b", re.IGNORECASE)
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


def split_candidate_and_job(prompt: str) -> tuple[str, str]:
    """The candidate part and the job part of an explanation prompt ("" where no heading was found)."""
    parts = {"candidate": [], "job": [], None: []}
    current = None
    for line in prompt.splitlines():
        heading = ":" in line[:40] or len(line) < _SHORT_HEADING
        if heading and _CANDIDATE_HEADING.match(line):
            current = "candidate"
        elif heading and _JOB_HEADING.match(line):
            current = "job"
        parts[current].append(line)
    return "\n".join(parts["candidate"]), "\n".join(parts["job"])


def find_score(prompt: str) -> float | None:
    """The match score quoted in the prompt, as a fraction (82% and 0.82 both give 0.82)."""
    match = _SCORE_RE.search(prompt)
    if not match:
        return None
    value = float(match["value"])
    return value / 100 if match["percent"] or value > 1 else value


def _listed_items(text: str) -> list[str]:
    """Items of skill lists: a "Skills:"-style line, or a line of three or more short comma-separated items."""
    items = []
    for line in text.splitlines():
        labelled = re.match(
            r"^\W*(?:key\s+|required\s+|core\s+)?(skills|requirements|tools|technologies)\b[^:]*:", line, re.I
        )
        if not labelled and _OTHER_LABEL.match(line):
            continue  # "Location: Chicago, IL, USA" is not a list of skills
        body = line[labelled.end() :] if labelled else line
        parts = [part.strip(" .-*•[]'\"") for part in re.split(r"[,;]", body)]
        parts = [part for part in parts if part and part.lower() not in _GENERIC_WORDS]
        short = parts and sum(len(part.split()) for part in parts) / len(parts) <= 2.5
        if labelled or (len(parts) >= 3 and short):
            items.extend(part for part in parts if len(part.split()) <= 4)
    return items


def _technical_terms(text: str) -> list[str]:
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        for position, term in enumerate(terms(sentence)):
            technical = any(ch.isdigit() or ch in "+#." for ch in term) or (position > 0 and term[0].isupper())
            if technical and term.lower() not in _GENERIC_WORDS and len(term) > 1:
                found.append(term.rstrip("."))
    return found


def _mentions(text: str, item: str) -> bool:
    return re.search(rf"(?<![\w+#]){re.escape(item)}(?![\w+#])", text, re.IGNORECASE) is not None


def compare(prompt: str) -> dict:
    """Shared and missing skills between the candidate and the job of the prompt, and its score."""
    candidate, job = split_candidate_and_job(prompt)
    shared, missing, seen = [], [], set()
    for item in _listed_items(job) or _technical_terms(job):
        key = item.lower()
        if key in seen:
            continue
        seen.add(key)
        (shared if candidate and _mentions(candidate, item) else missing).append(item)
    title = _TITLE_LINE.search(job)
    title_words = [word for word in terms(title["title"]) if word.lower() not in _GENERIC_WORDS] if title else []
    return {
        "shared": shared[:MAX_SHARED],
        "missing": missing[:MAX_MISSING],
        "coverage": len(shared) / len(seen) if seen else 0.0,
        "title_match": bool(title_words) and all(_mentions(candidate, word) for word in title_words),
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
    facts = compare(prompt)
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
    return {
        "explanation": explanation_text(prompt),
        "summary": explanation_text(prompt),
        "shared_skills": facts["shared"],
        "matching_skills": facts["shared"],
        "missing_skills": facts["missing"],
        "score": facts["score"],
        "strength": strength(facts).split()[-1],
    }
