"""A job's best candidates: the search over every embedded CV, its filters, labels from evidence, the
``candidates`` command and candidate explanations through the batch pipeline, on the real database
and the real mock engine."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from core.matching.candidates import COUNT_CAP, CandidateFilters, candidate_summaries, candidates_for_job
from core.models import CV, BatchItem, BatchJob, CandidateExplanation, ExplanationStatus, Job, Prediction, ScoreBands
from core.operations.candidates import request_candidate_explanations
from core.operations.score_bands import MIN_SAMPLE, calibrate, current_bands
from core.selectors.candidates import NOT_REQUESTED, ranked_candidates
from core.selectors.match_labels import match_evidence, score_band
from core.workflow.runner import run_pipeline
from tests.fuzz_budget import FUZZ
from tests.pipeline_helpers import make_cv, make_job, mock_service, unit_vector

pytestmark = pytest.mark.django_db

PROFILES = [
    ("Backend Engineer", "Python, Django, PostgreSQL, Redis"),
    ("Backend Engineer", "Python, Django, Celery"),
    ("Frontend Engineer", "React, TypeScript, CSS"),
    ("Data Engineer", "Python, Spark, SQL, Airflow"),
    ("Staff Nurse", "Triage, Patient care, Medication"),
    ("DevOps Engineer", "Kubernetes, Terraform, Go"),
]


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def world(cvs: int = 12, top_k: int = 1, settings=None) -> Job:
    """CVs of several profiles matched against three jobs, each CV keeping only its own best job."""
    settings.MATCH_TOP_K = top_k
    backend = make_job(1, "Backend Engineer", ["Python", "Django", "PostgreSQL"])
    make_job(2, "Frontend Engineer", ["React", "TypeScript"])
    make_job(3, "Data Engineer", ["Python", "Spark", "SQL"])
    for n in range(cvs):
        label, skills = PROFILES[n % len(PROFILES)]
        make_cv(n, skills=skills, label=label)
    assert run_pipeline(mock_service()).finished
    return backend


def exact_top(job: Job, top: int) -> list[tuple[int, float]]:
    """Every embedded CV scored in numpy: what the index search must reproduce."""
    query = np.asarray(job.embedding, dtype=np.float64)
    scored = []
    for cv_id, vector in CV.objects.exclude(embedding=None).values_list("pk", "embedding"):
        vector = np.asarray(vector, dtype=np.float64)
        scored.append((cv_id, float(query @ vector / (np.linalg.norm(query) * np.linalg.norm(vector)))))
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]))[:top]


def test_search_reaches_cvs_for_which_the_job_is_not_their_own_best(settings):
    job = world(settings=settings)
    job.refresh_from_db()
    found = candidates_for_job(job.pk, top=20)
    predicted = set(Prediction.objects.filter(job=job).values_list("cv_id", flat=True))
    # Every embedded CV is a candidate, also those whose single prediction is another job.
    assert {c.cv_id for c in found} == set(CV.objects.exclude(embedding=None).values_list("pk", flat=True))
    assert {c.cv_id for c in found} - predicted
    expected = exact_top(job, 20)
    assert [c.cv_id for c in found] == [cv_id for cv_id, _ in expected]
    assert [c.score for c in found] == pytest.approx([score for _, score in expected], abs=1e-5)
    assert found[0].name and found[0].headline == "Backend Engineer"
    assert {"Python", "Django"} <= set(found[0].skills)


def test_filters_location_skills_and_minimum_score(settings):
    job = world(settings=settings)
    everyone = candidates_for_job(job.pk, top=20)
    with_spark = candidates_for_job(job.pk, top=20, filters=CandidateFilters(skills=("spark", " SQL ")))
    assert with_spark and all({"spark", "sql"} <= {s.lower() for s in c.skills} for c in with_spark)
    assert len(with_spark) < len(everyone)
    cutoff = everyone[3].score
    above = candidates_for_job(job.pk, top=20, filters=CandidateFilters(min_score=cutoff))
    assert [c.cv_id for c in above] == [c.cv_id for c in everyone[:4]]
    # make_cv puts every CV in Berlin; a LIKE wildcard in the filter is taken literally.
    assert len(candidates_for_job(job.pk, top=20, filters=CandidateFilters(location="berlin"))) == len(everyone)
    assert candidates_for_job(job.pk, top=20, filters=CandidateFilters(location="Lisbon")) == []
    assert candidates_for_job(job.pk, top=20, filters=CandidateFilters(location="%")) == []
    with pytest.raises(ValueError, match="min_score must be between -1 and 1"):
        CandidateFilters(min_score=2)


def test_index_search_matches_exact_search():
    """CVs at every distance from the job (as embeddings of related texts are): the index search finds the
    exact top 20, scored with the full vectors, best first."""
    query = unit_vector(10_000)
    job = make_job(1, "Engineer", ["Python"])
    Job.objects.filter(pk=job.pk).update(embedding=query)
    for n in range(400):
        mixed = (n % 97) / 97 * query + unit_vector(n)
        cv = make_cv(n)
        CV.objects.filter(pk=cv.pk).update(embedding=mixed / np.linalg.norm(mixed), embedding_status="embedded")
    job.refresh_from_db()
    found = candidates_for_job(job.pk, top=20)
    exact = exact_top(job, 20)
    assert {c.cv_id for c in found} == {cv_id for cv_id, _ in exact}
    assert [c.score for c in found] == pytest.approx([score for _, score in exact], abs=1e-6)


def test_the_search_reads_the_cv_index(settings):
    from django.db import connection, transaction

    from core.matching.candidates import SEARCH_SQL, _tune_index_scan

    job = world(cvs=3, settings=settings)
    sql = SEARCH_SQL.format(filters="", location="''")
    params = {
        "job_id": job.pk,
        "dims": settings.EMBEDDING_DIMENSIONS,
        "pool": 40,
        "top": 20,
        "min_score": -1,
        "raw_chars": 10,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        _tune_index_scan(cursor, 100)
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "cv_embedding_hnsw" in plan


def test_a_job_without_a_vector_has_no_candidates():
    job = make_job(1, "Engineer", ["Python"])
    assert candidates_for_job(job.pk) == []
    assert candidate_summaries([job.pk], threshold=0.0) == {}


def test_summaries_count_candidates_above_the_threshold_and_the_top_score(settings):
    job = world(settings=settings)
    found = candidates_for_job(job.pk, top=COUNT_CAP)
    summary = candidate_summaries([job.pk], threshold=found[2].score)[job.pk]
    assert summary.count == 3 and summary.count_text == "3"
    assert summary.top_score == pytest.approx(found[0].score)


def test_labels_weigh_skills_and_title_as_well_as_the_score():
    bands = ScoreBands(backend="mock", good_from=0.45, strong_from=0.6, sample_size=50)
    resume = {
        "basics": {"label": "Senior Backend Engineer"},
        "skills": [{"name": "Backend", "keywords": ["Python", "Django", "PostgreSQL", "Redis"]}],
    }
    skills = ["Python", "Django", "PostgreSQL", "Redis", "Java"]
    # 4 of 5 skills and the title at a score below the good band: still a good match, not a weak one.
    evidence = match_evidence(0.43, "Backend Engineer", skills, resume, "", bands)
    assert (evidence.band, evidence.title_fit, evidence.label) == ("weak", True, "good")
    assert evidence.summary == "4/5 skills, title fits, score 0.430 (weak band)"
    assert match_evidence(0.61, "Backend Engineer", skills, resume, "", bands).label == "strong"
    # What a title adds in brackets is left to the skills: the role still fits.
    assert match_evidence(0.43, "Backend Engineer (Python/Django)", skills, resume, "", bands).title_fit
    assert not match_evidence(0.43, "Frontend Engineer (Python)", skills, resume, "", bands).title_fit
    assert match_evidence(0.61, "Staff Nurse", ["Triage"], resume, "", bands).label == "fair"
    assert match_evidence(0.30, "Staff Nurse", ["Triage"], resume, "", bands).label == "weak"
    # "Java" is not found inside "JavaScript"; an unparsed CV is read from its text.
    assert match_evidence(0.5, "Dev", ["Java"], None, "javascript only", bands).skills_matched == ()
    assert match_evidence(0.5, "Dev", ["Java"], None, "java and go", bands).skills_matched == ("Java",)
    assert score_band(0.9, None) == "uncalibrated"


def test_bands_are_calibrated_from_the_backends_own_best_scores(settings):
    world(cvs=MIN_SAMPLE + 2, settings=settings)
    bands = calibrate("mock")
    best = sorted(Prediction.objects.filter(rank=1).values_list("score", flat=True))
    assert bands.sample_size == len(best)
    assert best[0] <= bands.good_from <= bands.strong_from <= best[-1]
    assert bands.good_from == pytest.approx(float(np.percentile(best, 50)))
    assert calibrate("openai") is None  # nothing embedded there
    assert current_bands().pk == bands.pk


def test_too_few_scores_give_no_bands(settings):
    world(cvs=3, settings=settings)
    assert calibrate("mock") is None and current_bands() is None
    assert ScoreBands.objects.get().sample_size == 3


def test_candidate_explanations_go_through_the_batch_pipeline(settings):
    settings.EXPLAIN_TOP_N = 0  # no prediction explanations: only the candidates' go out
    job = world(settings=settings)
    report = request_candidate_explanations(job.pk, top=3)
    assert (report.requested, report.renewed, report.unchanged) == (3, 0, 0)
    assert run_pipeline(mock_service()).finished
    batch = BatchJob.objects.get(kind="candidate_explanation")
    assert batch.total == 3 and batch.completed == 3
    rows = ranked_candidates(job, top=5)
    assert [row.explanation_state for row in rows] == ["done"] * 3 + [NOT_REQUESTED] * 2
    assert all("Python" in row.explanation_text for row in rows[:3])
    assert BatchItem.objects.filter(batch=batch, candidate__job=job).count() == 3
    # Asked again: nothing changes; a CV whose score moves is asked again at a new version.
    assert request_candidate_explanations(job.pk, top=3).unchanged == 3
    first = CandidateExplanation.objects.get(job=job, cv_id=rows[0].candidate.cv_id)
    CandidateExplanation.objects.filter(pk=first.pk).update(score=first.score - 0.1)
    assert request_candidate_explanations(job.pk, top=3).renewed == 1
    first.refresh_from_db()
    assert (first.explanation_status, first.explanation_version, first.explanation) == (
        ExplanationStatus.PENDING,
        1,
        "",
    )


def test_candidates_command(settings):
    job = world(settings=settings)
    out = run("candidates", job.external_id, "--top", "4", "--skill", "Django")
    lines = out.splitlines()
    assert lines[0].startswith("Backend Engineer at Company 1 (JOB-1): ")
    assert lines[1].split() == ["#", "cv", "name", "score", "label", "evidence", "explanation"]
    scores = [float(_column(line, 3)) for line in lines[2:]]
    assert scores == sorted(scores, reverse=True) and lines[2:]
    assert all(NOT_REQUESTED in line for line in lines[2:])
    out = run("candidates", str(job.pk), "--top", "2", "--explain", "2")
    assert out.startswith("explanations: 2 requested, 0 renewed (score moved), 0 already asked")
    with pytest.raises(CommandError, match="no job with id or external_id 'JOB-404'"):
        run("candidates", "JOB-404")
    unembedded = make_job(9, "Chef", ["Knife skills"])
    with pytest.raises(CommandError, match="has no embedding yet"):
        run("candidates", unembedded.external_id)
    with pytest.raises(CommandError, match="not a cosine similarity"):
        run("candidates", job.external_id, "--min-score", "3")


def _column(line: str, index: int) -> str:
    return [cell for cell in line.split("  ") if cell.strip()][index].strip()


def test_the_job_pages_filter_form_takes_any_input_and_names_what_it_ignored(settings):
    """The filter form is outside input: whatever it holds, the page searches with what is valid and
    names each field it ignored, and the search never fails."""
    from core.admin.jobs import candidate_filters

    job = world(cvs=6, settings=settings)
    numbers = st.floats(allow_nan=True, allow_infinity=True).map(str)

    @FUZZ
    @given(min_score=st.one_of(st.text(), numbers), location=st.text(), skills=st.text())
    def check(min_score, location, skills):
        filters, errors = candidate_filters({"min_score": min_score, "location": location, "skills": skills})
        assert -1.0 <= filters.min_score <= 1.0
        assert all(error.startswith(("minimum score", "location", "skills")) for error in errors)
        if "\x00" in location:
            assert "location contains a NUL character" in errors
        found = candidates_for_job(job.pk, top=5, filters=filters)
        assert all(c.score >= filters.min_score - 1e-6 for c in found)

    check()
