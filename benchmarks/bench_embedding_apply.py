"""Applying 50,000 embeddings to the database.

    python -m benchmarks.bench_embedding_apply [--rows 50000]

Submits a 50,000-request CV embedding batch to the mock, lets it complete, then times the ingest:
reading the output file, decoding the base64 vectors, and writing them (binary COPY + one UPDATE per
1,000 rows, HNSW index maintained). Reports rows per second for the whole ingest and for the
database writes alone.
With --rebuild-index the CV HNSW index is dropped first and built once afterwards
(core.operations.cv_index: CREATE INDEX CONCURRENTLY, parallel, maintenance_work_mem sized), the
procedure for a large initial load.
"""

import argparse
import time

from benchmarks.harness import peak_rss_mb, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--rebuild-index",
        action="store_true",
        help="drop the CV HNSW index before the ingest and build it afterwards (a bulk-load procedure)",
    )
    parser.add_argument(
        "--plain-build",
        action="store_true",
        help="with --rebuild-index: build without CONCURRENTLY (blocks writes; for comparison)",
    )
    args = parser.parse_args()
    setup_django(MOCK_BATCH_FAILURE_RATE="0")

    from django.db import connection

    from core.batches.ingest import ingest_batch
    from core.batches.poll import refresh_batch
    from core.batches.submit import submit_pending
    from core.models import CV, EmbeddingStatus
    from core.operations.cv_index import build_cv_index, cv_index_valid, drop_cv_index
    from core.services.batch_service import BatchService
    from core.stages import embedding as embeddings

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_cv (source_name, raw_text, content_hash, parsed, parse_status, parse_attempts,"
            " parse_error, embedding_status, embedding_attempts, embedding_error, created_at, updated_at)"
            " SELECT 'cv' || n || '.txt', 'Backend engineer ' || n || ' with Python, Django and PostgreSQL. '"
            " || repeat('Built services and data pipelines for logistics customers. ', 12),"
            " md5(n::text) || md5((-n)::text),"
            " NULL, 'parsed', 1, '', 'pending', 0, '', now(), now() FROM generate_series(1, %s) AS n",
            [args.rows],
        )
    service = BatchService(use_mock=True)
    start = time.perf_counter()
    [batch] = submit_pending("cv_embedding", service)
    submitted = time.perf_counter()
    batch = refresh_batch(batch, service)
    completed = time.perf_counter()
    print(
        f"submitted {batch.total} requests in {submitted - start:.1f} s; mock completed it in "
        f"{completed - submitted:.1f} s"
    )

    write_seconds = 0.0
    real_write = embeddings.write_embeddings

    def timed_write(table, vectors):
        nonlocal write_seconds
        began = time.perf_counter()
        written = real_write(table, vectors)
        write_seconds += time.perf_counter() - began
        return written

    embeddings.write_embeddings = timed_write
    if args.rebuild_index:
        drop_cv_index()
    began = time.perf_counter()
    report = ingest_batch(batch, service)
    elapsed = time.perf_counter() - began
    if args.rebuild_index:
        built = time.perf_counter()
        how = build_cv_index(concurrently=not args.plain_build)
        build_seconds = time.perf_counter() - built
        assert cv_index_valid()
        print(
            f"rebuilt the CV HNSW index ({how}) in {build_seconds:.1f} s; ingest plus build, "
            f"until searchable: {args.rows / (elapsed + build_seconds):,.0f} rows/s"
        )
    stored = CV.objects.filter(embedding_status=EmbeddingStatus.EMBEDDED).count()
    assert stored == report.succeeded == args.rows, (stored, report)
    print(
        f"ingested {report.succeeded} embeddings in {elapsed:.2f} s: {report.succeeded / elapsed:,.0f} rows/s "
        f"(database writes alone: {write_seconds:.2f} s, {report.succeeded / write_seconds:,.0f} rows/s)"
    )
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
