"""The text a CV or a job is embedded from.

Both sides are written in the same shape (headline, skills, experience, description) so that their
vectors are comparable; the order puts the most discriminating words first because embedding inputs
may be cut at the model's token limit.
"""

from __future__ import annotations

from django.conf import settings

from core.services.openai_limits import EMBEDDING_MAX_INPUT_TOKENS, cut_to_tokens


def _fit(text: str) -> str:
    """Cut to the embedding model's input limit, counted as OpenAI counts it (CJK, code and emoji too)."""
    return cut_to_tokens(text, EMBEDDING_MAX_INPUT_TOKENS, settings.EMBEDDING_MODEL)


def _join(parts) -> str:
    return "\n".join(part.strip() for part in parts if part and str(part).strip())


def resume_text(resume: dict) -> str:
    basics = resume.get("basics") or {}
    skills = [
        keyword
        for group in resume.get("skills") or []
        for keyword in [group.get("name") or "", *(group.get("keywords") or [])]
        if keyword
    ]
    work = [
        _join(
            [
                " at ".join(filter(None, [entry.get("position"), entry.get("name")])),
                entry.get("summary") or "",
                *(entry.get("highlights") or []),
            ]
        )
        for entry in resume.get("work") or []
    ]
    education = [
        " ".join(filter(None, [entry.get("studyType"), entry.get("area"), entry.get("institution")]))
        for entry in resume.get("education") or []
    ]
    return _fit(
        _join(
            [
                basics.get("label") or "",
                "Skills: " + ", ".join(skills) if skills else "",
                basics.get("summary") or "",
                *work,
                *education,
            ]
        )
    )


def cv_text(cv) -> str:
    """From the parsed profile when there is one; a CV whose parse failed is still matched on its text."""
    text = resume_text(cv.parsed) if cv.parsed else ""
    return text or _fit(cv.raw_text)


def job_text(job) -> str:
    return _fit(
        _join(
            [
                job.title,
                f"Company: {job.company}" if job.company else "",
                f"Location: {job.location}" if job.location else "",
                "Skills: " + ", ".join(job.skills) if job.skills else "",
                job.description,
            ]
        )
    )
