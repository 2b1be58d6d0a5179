"""The other direction of matching: for one job, the best CVs among every embedded CV.

The matcher ranks jobs per CV and keeps each CV's top K, so a job's predictions only hold the CVs for
which it happens to be among their best; a CV for which this job ranks eleventh never appears there,
however good. This search asks the CV index directly. It is tuned like the job index (matcher.py):
candidates come from the half-precision HNSW index (``cv_embedding_hnsw``) with iterative scans, so a
filter that rejects most CVs still yields enough rows, and they are re-scored and ordered by the full
vectors. Filters a recruiter uses (location, required skills) run inside the index scan; the minimum
score runs on the full-precision score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from django.conf import settings
from django.db import connection, transaction

# Rows the index scan visits per query (hnsw.ef_search): recall@20 against an exact search over 100,000
# CVs is measured by benchmarks/bench_candidates.py (docs/BENCHMARKS.md).
CANDIDATE_EF_SEARCH = 100
# Candidates taken from the half-precision index per result, re-scored with the full vectors.
RESCORE_FACTOR = 2
# Of an unparsed CV's text, what the search returns for its skills to be checked.
RAW_TEXT_CHARS = 20_000
# The job list counts candidates up to this many ("50+"): counting further would scan the whole index.
COUNT_CAP = 50

# Lower-cased skill names and keywords of the parsed resume, as a text[] (NULL for an unparsed CV).
CV_SKILLS_SQL = """(SELECT array_agg(DISTINCT lower(k)) FROM jsonb_array_elements_text(
    jsonb_path_query_array(c.parsed, '$.skills[*].name') || jsonb_path_query_array(c.parsed, '$.skills[*].keywords[*]')
) k WHERE k <> '')"""
CV_LOCATION_SQL = """concat_ws(', ', NULLIF(c.parsed #>> '{basics,location,city}', ''),
    NULLIF(c.parsed #>> '{basics,location,region}', ''), NULLIF(c.parsed #>> '{basics,location,countryCode}', ''),
    NULLIF(c.parsed #>> '{basics,location,address}', ''))"""

SEARCH_SQL = """
WITH query AS (SELECT embedding FROM core_job WHERE id = %(job_id)s AND embedding IS NOT NULL),
nearest AS MATERIALIZED (
    SELECT c.id FROM core_cv c
    WHERE c.embedding IS NOT NULL {filters}
    ORDER BY c.embedding::halfvec(%(dims)s) <=> (SELECT embedding FROM query)::halfvec(%(dims)s)
    LIMIT %(pool)s
)
SELECT c.id, c.source_name, c.parsed, {location} AS location,
       -- An unparsed CV's skills can only be looked for in its text.
       CASE WHEN c.parsed IS NULL THEN left(c.raw_text, %(raw_chars)s) ELSE '' END AS raw_text,
       1 - (c.embedding <=> (SELECT embedding FROM query)) AS score
FROM nearest JOIN core_cv c ON c.id = nearest.id
WHERE 1 - (c.embedding <=> (SELECT embedding FROM query)) >= %(min_score)s
ORDER BY score DESC, c.id
LIMIT %(top)s
"""

SUMMARY_SQL = """
SELECT j.id, count(*) FILTER (WHERE m.score >= %(threshold)s), max(m.score)
FROM core_job j
CROSS JOIN LATERAL (
    SELECT 1 - (c.embedding <=> j.embedding) AS score FROM core_cv c
    WHERE c.embedding IS NOT NULL
    ORDER BY c.embedding::halfvec(%(dims)s) <=> j.embedding::halfvec(%(dims)s)
    LIMIT %(cap)s
) m
WHERE j.id = ANY(%(job_ids)s) AND j.embedding IS NOT NULL
GROUP BY j.id
"""


@dataclass(frozen=True)
class CandidateFilters:
    """What a recruiter narrows the search by. Every field is optional; skills must all be present."""

    min_score: float = -1.0
    location: str = ""
    skills: tuple[str, ...] = ()

    def __post_init__(self):
        if not -1.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must be between -1 and 1 (a cosine similarity), not {self.min_score}")
        # PostgreSQL text holds no NUL character: say so here rather than fail inside the query.
        if "\x00" in self.location:
            raise ValueError("location contains a NUL character")
        if any("\x00" in skill for skill in self.skills):
            raise ValueError("a skill contains a NUL character")


@dataclass(frozen=True)
class Candidate:
    cv_id: int
    name: str
    headline: str
    location: str
    score: float
    parsed: dict | None = field(repr=False, default=None)
    raw_text: str = field(repr=False, default="")

    @property
    def skills(self) -> list[str]:
        """The resume's skills as written, first the group names' keywords in the resume's order."""
        seen: dict[str, str] = {}
        for group in (self.parsed or {}).get("skills") or []:
            for skill in [*(group.get("keywords") or []), group.get("name") or ""]:
                if isinstance(skill, str) and skill.strip():
                    seen.setdefault(skill.strip().lower(), skill.strip())
        return list(seen.values())


def _like_pattern(text: str) -> str:
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _tune_index_scan(cursor, ef_search: int) -> None:
    """The job index's settings (matcher.match_chunk), for the CV index: iterative scans so filters
    cannot starve the result, and no sequential scan that the planner's rough HNSW costs invite. One
    statement, local to the transaction."""
    cursor.execute(
        "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'relaxed_order', true),"
        " set_config('enable_seqscan', 'off', true)",
        [str(ef_search)],
    )


def candidates_for_job(job_id: int, top: int = 20, filters: CandidateFilters | None = None) -> list[Candidate]:
    """The ``top`` CVs closest to the job that pass ``filters``, best first (empty if the job has no vector)."""
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")
    filters = filters or CandidateFilters()
    conditions, params = [], {}
    if filters.location.strip():
        conditions.append(f"AND {CV_LOCATION_SQL} ILIKE %(location)s")
        params["location"] = _like_pattern(filters.location)
    skills = sorted({skill.strip().lower() for skill in filters.skills if skill.strip()})
    if skills:
        conditions.append(f"AND {CV_SKILLS_SQL} @> %(skills)s::text[]")
        params["skills"] = skills
    pool = top * RESCORE_FACTOR
    sql = SEARCH_SQL.format(filters=" ".join(conditions), location=CV_LOCATION_SQL)
    with transaction.atomic(), connection.cursor() as cursor:
        _tune_index_scan(cursor, max(CANDIDATE_EF_SEARCH, pool))
        cursor.execute(
            sql,
            {
                "job_id": job_id,
                "dims": settings.EMBEDDING_DIMENSIONS,
                "pool": pool,
                "top": top,
                "min_score": filters.min_score,
                "raw_chars": RAW_TEXT_CHARS,
                **params,
            },
        )
        rows = cursor.fetchall()
    return [_candidate(*row) for row in rows]


def _candidate(cv_id: int, source_name: str, parsed, location: str, raw_text: str, score: float) -> Candidate:
    # Django reads jsonb as text (its ORM decodes it); a raw cursor gets that text.
    parsed = orjson.loads(parsed) if isinstance(parsed, str) else parsed
    parsed = parsed if isinstance(parsed, dict) else None
    basics = (parsed or {}).get("basics") or {}
    return Candidate(
        cv_id=cv_id,
        name=basics.get("name") or source_name,
        headline=basics.get("label") or "",
        location=location or "",
        score=score,
        parsed=parsed,
        raw_text=raw_text,
    )


@dataclass(frozen=True)
class CandidateSummary:
    count: int  # CVs at or above the threshold among the nearest COUNT_CAP
    top_score: float | None

    @property
    def count_text(self) -> str:
        return f"{self.count}+" if self.count >= COUNT_CAP else str(self.count)


def candidate_summaries(job_ids: list[int], threshold: float) -> dict[int, CandidateSummary]:
    """For a page of jobs, in one statement: how many CVs score ``threshold`` or more (up to COUNT_CAP)
    and the best score. Jobs without a vector are absent."""
    if not job_ids:
        return {}
    with transaction.atomic(), connection.cursor() as cursor:
        _tune_index_scan(cursor, max(CANDIDATE_EF_SEARCH, COUNT_CAP))
        cursor.execute(
            SUMMARY_SQL,
            {"job_ids": list(job_ids), "threshold": threshold, "dims": settings.EMBEDDING_DIMENSIONS, "cap": COUNT_CAP},
        )
        return {job_id: CandidateSummary(count, top) for job_id, count, top in cursor.fetchall()}
