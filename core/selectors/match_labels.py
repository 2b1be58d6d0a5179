"""How strong a CV-job match is, from evidence a recruiter would check, not from the cosine alone.

A cosine of 0.43 says little by itself (see core.operations.score_bands), while a CV that lists 8 of
the job's 9 skills under the job's own title is plainly a good match. The label adds up three pieces
of evidence: the score's band for its backend, how many of the job's skills the CV shows, and whether
the CV has held the job's title. Every list, filter and page uses this one function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.models import ScoreBands

# Words of a job title that say nothing about the work itself.
TITLE_NOISE = frozenset(
    (  # noqa: SIM905 (a word list reads best as words)
        "senior junior lead principal staff head chief associate assistant intern trainee graduate entry level "
        "mid i ii iii iv sr jr of and the for in at a an to with remote hybrid contract part full time"
    ).split()
)
LABELS = {4: "strong", 3: "good", 2: "fair"}  # points and up -> label; fewer is "weak"
BAND_POINTS = {"strong": 2, "good": 1, "weak": 0, "uncalibrated": 1}


def score_band(score: float, bands: ScoreBands | None) -> str:
    """strong / good / weak against the backend's calibrated bands, "uncalibrated" without any."""
    if bands is None:
        return "uncalibrated"
    if score >= bands.strong_from:
        return "strong"
    return "good" if score >= bands.good_from else "weak"


def _mentions(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words (so "Java" is not found in "JavaScript")."""
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def _resume_titles(parsed: dict | None) -> list[str]:
    parsed = parsed or {}
    titles = [(parsed.get("basics") or {}).get("label") or ""]
    titles += [entry.get("position") or "" for entry in parsed.get("work") or [] if isinstance(entry, dict)]
    return [title.lower() for title in titles if isinstance(title, str) and title]


def _resume_skill_text(parsed: dict | None, raw_text: str) -> str:
    """The text job skills are looked for in: the resume's skills and work, or the raw CV unparsed."""
    if not parsed:
        return raw_text.lower()
    parts = []
    for group in parsed.get("skills") or []:
        parts += [group.get("name") or "", *(group.get("keywords") or [])]
    for entry in parsed.get("work") or []:
        parts += [entry.get("position") or "", entry.get("summary") or "", *(entry.get("highlights") or [])]
    parts.append((parsed.get("basics") or {}).get("summary") or "")
    return "\n".join(part for part in parts if isinstance(part, str)).lower()


@dataclass(frozen=True)
class MatchEvidence:
    score: float
    band: str
    skills_matched: tuple[str, ...]
    skills_wanted: int
    title_fit: bool

    @property
    def skill_points(self) -> int:
        if not self.skills_wanted:
            return 1  # a job that names no skills: neither for nor against
        coverage = len(self.skills_matched) / self.skills_wanted
        return 2 if coverage >= 0.75 else 1 if coverage >= 0.4 else 0

    @property
    def label(self) -> str:
        points = BAND_POINTS[self.band] + self.skill_points + int(self.title_fit)
        return next((label for floor, label in LABELS.items() if points >= floor), "weak")

    @property
    def summary(self) -> str:
        """One line a recruiter can check: "8/9 skills, title fits, score 0.430 (good band)"."""
        parts = [f"{len(self.skills_matched)}/{self.skills_wanted} skills"] if self.skills_wanted else []
        parts.append("title fits" if self.title_fit else "other title")
        parts.append(f"score {self.score:.3f} ({self.band} band)")
        return ", ".join(parts)


def match_evidence(
    score: float, job_title: str, job_skills: list, parsed: dict | None, raw_text: str, bands: ScoreBands | None
) -> MatchEvidence:
    skill_text = _resume_skill_text(parsed, raw_text)
    wanted = [str(skill).strip() for skill in job_skills or [] if str(skill).strip()]
    matched = tuple(skill for skill in wanted if _mentions(skill_text, skill.lower()))
    # Words that name the work: not seniority, not filler, not numbers ("Engineer II"), not what a title adds
    # in brackets ("Backend Engineer (Python/Django)", "Nurse (Band 5)"): the skills speak for those.
    role = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", job_title.lower())
    title_words = [w for w in re.findall(r"[^\W\d_]+", role) if w not in TITLE_NOISE]
    titles = _resume_titles(parsed)
    title_fit = bool(title_words) and any(all(_mentions(title, word) for word in title_words) for title in titles)
    return MatchEvidence(score, score_band(score, bands), matched, len(wanted), title_fit)


def band_ranges(bands: ScoreBands | None) -> dict[str, tuple[float | None, float | None, str]]:
    """The score filter's choices, in the labels' own bands: {key: (low, high, label)}."""
    if bands is None:
        return {}
    return {
        "strong": (bands.strong_from, None, f"strong band ({bands.strong_from:.2f} and above)"),
        "good": (bands.good_from, bands.strong_from, f"good band ({bands.good_from:.2f} to {bands.strong_from:.2f})"),
        "weak": (None, bands.good_from, f"weak band (below {bands.good_from:.2f})"),
    }
