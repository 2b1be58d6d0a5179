"""The CV HNSW index dropped for a bulk load and built again concurrently: valid, used by the search,
and safe to build twice. Needs real transactions (CREATE INDEX CONCURRENTLY refuses to run in one)."""

from __future__ import annotations

import pytest

from core.matching.candidates import candidates_for_job
from core.models import CV, Job
from core.operations.cv_index import INDEX, build_cv_index, cv_index_valid, drop_cv_index, memory_for
from tests.pipeline_helpers import make_cv, make_job, unit_vector

pytestmark = pytest.mark.django_db(transaction=True)


def test_drop_then_build_concurrently_gives_a_valid_index_the_search_uses():
    from django.db import connection

    job = make_job(1, "Engineer", ["Python"])
    Job.objects.filter(pk=job.pk).update(embedding=unit_vector(1000))
    drop_cv_index()
    assert not cv_index_valid()
    for n in range(50):
        cv = make_cv(n)
        CV.objects.filter(pk=cv.pk).update(embedding=unit_vector(n), embedding_status="embedded")
    how = build_cv_index()
    assert cv_index_valid() and how.startswith("concurrently, 50 vectors, maintenance_work_mem 64 MB")
    assert build_cv_index() and cv_index_valid()  # a second build leaves the valid index alone
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [INDEX])
        assert cursor.fetchone() == (1,)
    assert len(candidates_for_job(job.pk, top=10)) == 10


def test_memory_grows_with_the_table_within_bounds():
    assert memory_for(0) == 64
    assert 64 < memory_for(100_000) < memory_for(1_000_000) <= 2048
