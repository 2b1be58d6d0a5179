"""The CV HNSW index dropped for a bulk load and built again concurrently: valid, used by the search,
and safe to build twice; the workflow doing both by itself around a bulk load, and healing a build cut
short. Needs real transactions (CREATE INDEX CONCURRENTLY refuses to run in one)."""

from __future__ import annotations

import io
import logging
import threading
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, connections
from django.utils import timezone

from core.matching.candidates import candidates_for_job
from core.models import CV, BatchJob, BatchKind, BatchStatus, EmbeddingStatus, Job, ParseStatus
from core.operations.cv_index import (
    INDEX,
    build_after_load,
    build_cv_index,
    cv_index_valid,
    drop_cv_index,
    drop_for_bulk_load,
    is_bulk_load,
    memory_for,
)
from core.workflow.runner import run_pipeline
from tests.pipeline_helpers import embedded_cv, make_cv, make_job, mock_service, side_by_side, unit_vector

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _the_index_is_back_afterwards():
    """Other modules' tests run inside transactions, where the index could not be built again."""
    yield
    build_cv_index()


def test_drop_then_build_concurrently_gives_a_valid_index_the_search_uses():
    job = make_job(1, "Engineer", ["Python"])
    Job.objects.filter(pk=job.pk).update(embedding=unit_vector(1000))
    drop_cv_index()
    assert not cv_index_valid()
    for n in range(50):
        embedded_cv(n, unit_vector(n))
    how = build_cv_index()
    assert cv_index_valid() and how.startswith("concurrently, 50 vectors, maintenance_work_mem 64 MB")
    built = _index_oid()
    build_cv_index()
    assert _index_oid() == built and cv_index_valid()  # a second build leaves the valid index alone
    assert _index_count() == 1
    assert len(candidates_for_job(job.pk, top=10)) == 10


def test_memory_grows_with_the_table_within_bounds():
    assert memory_for(0) == 64
    assert 64 < memory_for(100_000) < memory_for(1_000_000) <= 2048


def _index_oid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [INDEX])
        return cursor.fetchone()[0]


def _index_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [INDEX])
        return cursor.fetchone()[0]


def test_a_bulk_load_is_large_and_at_least_what_is_already_indexed(settings):
    settings.CV_INDEX_BULK_LOAD_ROWS = 100
    assert is_bulk_load(awaiting=100, embedded=0)
    assert is_bulk_load(awaiting=500, embedded=500)
    assert not is_bulk_load(awaiting=99, embedded=0)  # a trickle keeps the index
    assert not is_bulk_load(awaiting=500, embedded=501)  # the table is mostly indexed already


def test_the_pipeline_drops_the_index_for_a_bulk_load_and_builds_it_once_the_load_is_in(settings, caplog):
    settings.CV_INDEX_BULK_LOAD_ROWS = 20
    job = make_job(1, "Backend Engineer", ["Python", "Django", "PostgreSQL"])
    for n in range(30):
        make_cv(n)
    events = []
    with caplog.at_level(logging.INFO, logger="core.operations.cv_index"):
        assert run_pipeline(mock_service(), on_event=events.append).finished
    assert "event=cv_index_dropped awaiting=30 embedded=0" in caplog.text
    [built] = [event for event in events if event.stage == "index"]
    assert built.detail["how"].startswith("concurrently, 30 vectors")
    # It came after every CV embedding was in, and only once.
    assert [e.stage for e in events].index("index") > max(
        i for i, e in enumerate(events) if e.stage == "ingest" and e.kind == "cv_embedding"
    )
    assert cv_index_valid() and _index_count() == 1
    assert CV.objects.filter(embedding_status=EmbeddingStatus.EMBEDDED).count() == 30
    assert len(candidates_for_job(job.pk, top=10)) == 10


def test_a_small_load_into_an_indexed_table_keeps_the_index(settings):
    settings.CV_INDEX_BULK_LOAD_ROWS = 20
    for n in range(25):
        embedded_cv(n, unit_vector(n))
    for n in range(25, 49):  # 24 awaiting: over the threshold, but fewer than the 25 indexed
        make_cv(n, parse_status=ParseStatus.PARSED)
    assert not drop_for_bulk_load()
    assert cv_index_valid()


def test_only_first_vectors_of_parsed_cvs_make_a_load(settings):
    """CVs sent to be embedded again keep their vectors, which the index still serves; CVs still being
    parsed are hours from a vector on real batches. Neither drops the index."""
    settings.CV_INDEX_BULK_LOAD_ROWS = 20
    for n in range(30):
        embedded_cv(n, unit_vector(n))
    CV.objects.update(embedding_status=EmbeddingStatus.PENDING)  # "embed again" on every CV
    for n in range(30, 60):
        make_cv(n)  # parse pending
    assert not drop_for_bulk_load() and cv_index_valid()
    CV.objects.filter(embedding__isnull=True).update(parse_status=ParseStatus.PARSED)
    assert drop_for_bulk_load() and not cv_index_valid()  # 30 first vectors against 30 held


def test_poll_batches_alone_brings_the_index_back():
    """A deployment that drives polling with the command (cron) rather than Celery or run_pipeline."""
    for n in range(12):
        embedded_cv(n, unit_vector(n))
    drop_cv_index()
    call_command("poll_batches", stdout=io.StringIO(), stderr=io.StringIO())
    assert cv_index_valid()


def test_the_search_stays_exact_while_the_index_is_missing():
    job = make_job(1, "Engineer", ["Python"])
    Job.objects.filter(pk=job.pk).update(embedding=unit_vector(1000))
    for n in range(12):
        embedded_cv(n, unit_vector(n))
    with_index = candidates_for_job(job.pk, top=5)
    drop_cv_index()
    without = candidates_for_job(job.pk, top=5)
    assert [c.cv_id for c in without] == [c.cv_id for c in with_index]
    assert build_after_load() is not None and cv_index_valid()


def test_no_build_while_a_bulk_load_is_under_way_or_a_finished_batch_awaits_its_ingest(settings):
    settings.CV_INDEX_BULK_LOAD_ROWS = 20
    drop_cv_index()
    for n in range(10):
        embedded_cv(n, unit_vector(n))
    for n in range(10, 30):  # 20 awaiting, more than the 10 embedded: still a bulk load
        make_cv(n, parse_status=ParseStatus.PARSED)
    assert build_after_load() is None and not cv_index_valid()

    # Half of them in: 10 awaiting, below the threshold. But a finished batch is still to be ingested.
    CV.objects.filter(pk__in=CV.objects.filter(embedding_status=EmbeddingStatus.PENDING).values("pk")[:10]).update(
        embedding_status=EmbeddingStatus.EMBEDDED, embedding=unit_vector(99)
    )
    batch = BatchJob.objects.create(
        kind=BatchKind.CV_EMBEDDING, provider_batch_id="batch_x", status=BatchStatus.COMPLETED, total=10
    )
    assert build_after_load() is None and not cv_index_valid()

    # Ingested: the 10 still awaiting are a trickle, not a load; the index is built without waiting for them.
    BatchJob.objects.filter(pk=batch.pk).update(ingested_at=timezone.now())
    assert build_after_load().startswith("concurrently, 20 vectors") and cv_index_valid()
    assert not drop_for_bulk_load()  # and the trickle does not drop it again


def _load_random_vectors(count: int) -> None:
    """``count`` embedded CVs with distinct random vectors, written by the server (fast)."""
    dims = settings.EMBEDDING_DIMENSIONS
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_cv (source_name, raw_text, content_hash, parse_status, parse_attempts, parse_error,"
            " embedding_status, embedding_attempts, embedding_error, created_at, updated_at, embedding)"
            " SELECT 'cv' || n, 'text', md5(n::text), 'parsed', 1, '', 'embedded', 0, '', now(), now(),"
            " (SELECT array_agg(random() - 0.5) FROM generate_series(1, %s) WHERE n > 0)::vector"
            " FROM generate_series(1, %s) AS n",
            [dims, count],
        )


def test_a_build_cut_short_leaves_an_invalid_index_that_the_next_step_replaces():
    """A worker killed mid-build: its backend terminated once the index is in the catalogue, not yet valid."""
    _load_random_vectors(3000)
    drop_cv_index()
    failures: list[Exception] = []

    def build():
        try:
            build_cv_index()
        except DatabaseError as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    builder = threading.Thread(target=build)
    builder.start()
    with connection.cursor() as cursor:
        for _ in range(2000):  # until the build's first transaction has committed the (invalid) index
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY%%' AND state = 'active'"
            )
            builders = [row[0] for row in cursor.fetchall()]
            if builders and _index_count() == 1:
                cursor.execute("SELECT pg_terminate_backend(%s)", [builders[0]])
                break
            time.sleep(0.005)
    builder.join()
    assert failures, "the build finished before it could be cut short"
    assert _index_count() == 1 and not cv_index_valid()  # there, but invalid: the search cannot use it
    assert build_after_load().startswith("concurrently, 3,000 vectors")
    assert cv_index_valid() and _index_count() == 1


def test_a_role_statement_timeout_does_not_cut_the_build_short():
    _load_random_vectors(1000)
    drop_cv_index()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '1ms'")
        try:
            build_cv_index()
        finally:
            cursor.execute("RESET statement_timeout")
    assert cv_index_valid()


def test_two_workers_building_at_once_build_it_once():
    for n in range(300):
        embedded_cv(n, unit_vector(n))
    drop_cv_index()
    outcomes = side_by_side(build_after_load)
    assert cv_index_valid() and _index_count() == 1
    # One built it; the other found the lock held or the index valid, and did nothing.
    assert len(outcomes) == 2 and sum(how is not None for how in outcomes) == 1
