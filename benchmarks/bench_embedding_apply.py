"""Applying 50,000 embeddings to the database: an initial load of CVs made searchable.

    python -m benchmarks.bench_embedding_apply [--rows 50000] [--keep-index]

Submits a 50,000-request CV embedding batch to the mock and lets it complete, then times what the
workflow does with it: ``steps.poll`` (which drops the CV HNSW index, the load being a bulk load into
an empty table, then ingests: reading the output file, decoding the base64 vectors, writing them with
a binary COPY and one UPDATE per 1,000 rows) and ``steps.build_cv_index_after_load`` (CREATE INDEX
CONCURRENTLY, parallel, maintenance_work_mem sized: core.operations.cv_index). Reports rows per second
for the ingest, for the database writes alone, and until searchable (vectors stored and index valid).
With --keep-index the index is maintained row by row instead (the bulk-load threshold set out of reach).
"""

import argparse
import time

from benchmarks.harness import peak_rss_mb, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--keep-index",
        action="store_true",
        help="keep the CV HNSW index during the ingest (maintained row by row), for comparison",
    )
    args = parser.parse_args()
    threshold = args.rows + 1 if args.keep_index else min(10_000, args.rows)
    setup_django(MOCK_BATCH_FAILURE_RATE="0", CV_INDEX_BULK_LOAD_ROWS=str(threshold))

    from django.db import connection

    from core.batches.poll import refresh_batch
    from core.batches.submit import submit_pending
    from core.models import CV, EmbeddingStatus
    from core.operations.cv_index import cv_index_valid
    from core.services.batch_service import BatchService
    from core.stages import embedding as embeddings
    from core.workflow import steps

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
    began = time.perf_counter()
    [(_, report)] = steps.poll(service)
    elapsed = time.perf_counter() - began
    stored = CV.objects.filter(embedding_status=EmbeddingStatus.EMBEDDED).count()
    assert stored == report.succeeded == args.rows, (stored, report)
    print(
        f"ingested {report.succeeded} embeddings in {elapsed:.2f} s (index {'kept' if args.keep_index else 'dropped'}):"
        f" {report.succeeded / elapsed:,.0f} rows/s"
        f" (database writes alone: {write_seconds:.2f} s, {report.succeeded / write_seconds:,.0f} rows/s)"
    )
    built = time.perf_counter()
    how = steps.build_cv_index_after_load()
    build_seconds = time.perf_counter() - built
    assert cv_index_valid()
    print(
        f"CV HNSW index: {how or 'kept valid throughout'}, {build_seconds:.1f} s; until searchable:"
        f" {args.rows / (elapsed + build_seconds):,.0f} rows/s ({elapsed + build_seconds:.1f} s)"
    )
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
