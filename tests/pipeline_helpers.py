"""Builders shared by the pipeline tests: real rows in the test database, a real mock engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connections

from core.mock_openai.client import MockOpenAIClient
from core.models import CV, EmbeddingStatus, Job, ParseStatus
from core.services.batch_service import BatchService

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "core" / "sample_data"

CV_TEMPLATE = """{name}
{label}
{email} | +1 (415) 555-01{n:02d} | Berlin, Germany

Summary
{label} with {years} years of experience in {skills}.

Experience
{label} — Example Corp {n}
Jan 2019 – Present
- Built and ran systems with {skills}

Education
BSc Computer Science, Example University, 2014 – 2018

Skills
{skills}
"""


FIRST_NAMES = ["Ada", "Grace", "Alan", "Maria", "Linus", "Chloe", "Omar", "Priya", "Jonas", "Ines", "Kenji", "Zara"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Lopez", "Berg", "Martin", "Haddad", "Sharma", "Weber", "Costa"]


def person_name(n: int) -> str:
    return f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"


def mock_service(root: Path | None = None, failure_rate: float = 0.0, seed: int = 0, latency: float = 0.0):
    client = MockOpenAIClient(
        root=root or settings.MOCK_BATCH_DIR, failure_rate=failure_rate, seed=seed, latency=latency
    )
    return BatchService(client=client)


def make_cv(n: int, skills: str = "Python, Django, PostgreSQL", label: str = "Backend Engineer", **fields) -> CV:
    text = CV_TEMPLATE.format(
        name=person_name(n),
        label=label,
        email=f"candidate{n}@example.com",
        n=n % 100,
        years=3 + n % 7,
        skills=skills,
    )
    return CV.objects.create(source_name=f"cv-{n}.txt", raw_text=text, **fields)


def make_job(n: int, title: str, skills: list[str], description: str = "", **fields) -> Job:
    return Job.objects.create(
        external_id=f"JOB-{n}",
        title=title,
        company=f"Company {n}",
        location="Berlin",
        description=description or f"We are hiring a {title} who knows {', '.join(skills)}.",
        skills=skills,
        **fields,
    )


def unit_vector(seed: int, dims: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vector = rng.standard_normal(dims or settings.EMBEDDING_DIMENSIONS).astype(np.float32)
    return vector / np.linalg.norm(vector)


def embedded_cv(n: int, vector) -> CV:
    from django.utils import timezone

    return make_cv(
        n,
        parse_status=ParseStatus.PARSED,
        embedding=vector,
        embedding_status=EmbeddingStatus.EMBEDDED,
        embedded_at=timezone.now(),
    )


def embedded_job(n: int, vector, **fields) -> Job:
    from django.utils import timezone

    return make_job(
        n,
        f"Job {n}",
        ["x"],
        embedding=vector,
        embedding_status=EmbeddingStatus.EMBEDDED,
        embedded_at=timezone.now(),
        **fields,
    )


def side_by_side(work: Callable[[], object], count: int = 2) -> list:
    """``work`` run by ``count`` threads released at once, each on its own database connection (closed
    after): real concurrent sessions. Returns what each returned, in the order they finished."""
    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(work())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
