"""The admin on large tables: change lists and pages over 100,000 BatchItems and 100,000 CVs.

    python -m benchmarks.bench_admin [--items 100000] [--runs 7]

Loads (with COPY) as many CVs as items, two cv_parse batches sharing the items (at most 50,000 per
batch, OpenAI's cap) with 5% failed and 1% not run, and 10,000 predictions, on a fresh embedded
PostgreSQL. Then times each page through Django's test Client as a logged-in superuser: the whole
request (middleware, session, queries, template rendering), a warm-up first, then --runs runs.
Reports the median, the fastest and slowest run and the number of SQL queries of each page.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from benchmarks.harness import peak_rss_mb, setup_django

MAX_ITEMS_PER_BATCH = 50_000
FAILED_EVERY = 20  # 5% of items failed
NOT_RUN_EVERY = 100  # 1% never ran


def copy_rows(table: str, columns: str, rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(items: int) -> list[int]:
    """CVs, batches, items and some predictions; returns the batch ids."""
    import orjson
    from django.db import connection

    from core.models import BatchJob, Job

    now = datetime.now(UTC)
    copy_rows(
        "core_cv",
        "source_name, raw_text, content_hash, parsed, parse_status, parse_attempts, parse_error, "
        "embedding_status, embedding_attempts, embedding_error, created_at, updated_at",
        (
            (
                f"cv-{n}.txt",
                f"Candidate {n}\nBackend Engineer\ncandidate{n}@example.com",
                f"{n:064x}",
                orjson.dumps(
                    {"basics": {"name": f"Candidate {n}", "email": f"candidate{n}@example.com"}, "work": [],
                     "education": [], "skills": []}
                ).decode(),
                "failed" if n % FAILED_EVERY == 0 else "parsed",
                1,
                "HTTP 503: engine overloaded" if n % FAILED_EVERY == 0 else "",
                "pending",
                0,
                "",
                now,
                now,
            )
            for n in range(items)
        ),
    )
    cv_ids = list(connection.cursor().execute("SELECT id FROM core_cv ORDER BY id").fetchall())
    cv_ids = [row[0] for row in cv_ids]
    batches = []
    for index, start in enumerate(range(0, items, MAX_ITEMS_PER_BATCH)):
        count = min(MAX_ITEMS_PER_BATCH, items - start)
        failed = sum(1 for n in range(start, start + count) if n % FAILED_EVERY == 0)
        batches.append(
            BatchJob.objects.create(
                kind="cv_parse", backend="mock", endpoint="/v1/chat/completions", model="gpt-4o-mini",
                provider_batch_id=f"batch_bench_{index}", input_file_id=f"file-in-{index}",
                output_file_id=f"file-out-{index}", error_file_id=f"file-err-{index}", status="completed",
                total=count, completed=count - failed, failed=failed, submitted_at=now, completed_at=now,
                ingested_at=now, estimated_input_tokens=count * 300, input_tokens=count * 300,
                output_tokens=count * 200, estimated_cost="1.250000",
            )
        )

    def item(n: int):
        batch = batches[n // MAX_ITEMS_PER_BATCH]
        if n % FAILED_EVERY == 0:
            status, code, message = "failed", "engine_overloaded", "HTTP 503: The engine is currently overloaded"
        elif n % NOT_RUN_EVERY == 1:
            status, code, message = "not_run", "batch_expired", "This request could not be executed before expiry"
        else:
            status, code, message = "succeeded", "", ""
        return (batch.pk, f"cv-parse-{cv_ids[n]}", cv_ids[n], status, 1, code, message, now, now)

    copy_rows(
        "core_batchitem",
        "batch_id, custom_id, cv_id, status, attempt, error_code, error_message, created_at, finished_at",
        (item(n) for n in range(items)),
    )
    jobs = [Job(external_id=f"JOB-{n}", title=f"Engineer {n}", company=f"Company {n}") for n in range(1000)]
    Job.objects.bulk_create(jobs)
    job_ids = list(Job.objects.values_list("pk", flat=True))
    predictions = min(items, 1000)
    copy_rows(
        "core_prediction",
        "cv_id, job_id, score, rank, explanation, explanation_status, explanation_attempts, explanation_error, "
        "created_at, updated_at",
        (
            (cv_ids[n], job_ids[(n * 7 + rank) % len(job_ids)], 0.9 - rank * 0.05, rank + 1,
             "Shares Python and Django." if rank < 3 else "", "done" if rank < 3 else "pending", 1, "", now, now)
            for n in range(predictions)
            for rank in range(10)
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_cv; ANALYZE core_batchjob; ANALYZE core_batchitem; ANALYZE core_prediction")
    return [batch.pk for batch in batches]


def time_page(client, url: str, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)  # warm-up: templates compiled, caches filled
    assert response.status_code == 200, (url, response.status_code)
    queries = len(captured)  # now: the next request clears the connection's query log
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return {
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "queries": queries,
        "bytes": len(response.content),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    setup_django(ALLOWED_HOSTS="testserver,localhost")

    from django.contrib.auth import get_user_model
    from django.test import Client

    start = time.perf_counter()
    batch_ids = load(args.items)
    print(f"loaded {args.items:,} CVs and {args.items:,} BatchItems in {len(batch_ids)} batches "
          f"in {time.perf_counter() - start:.1f} s")

    get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password")
    client = Client()
    client.login(username="bench", password="bench-password")
    pages = {
        "BatchItem list": "/admin/core/batchitem/",
        "BatchItem list, failed only": "/admin/core/batchitem/?status__exact=failed",
        "BatchItem list, one batch": f"/admin/core/batchitem/?batch__id__exact={batch_ids[-1]}",
        "BatchItem list, search custom_id": f"/admin/core/batchitem/?q=cv-parse-{args.items // 2}",
        "BatchJob list": "/admin/core/batchjob/",
        f"BatchJob page ({min(args.items, MAX_ITEMS_PER_BATCH):,} items, failed first)":
            f"/admin/core/batchjob/{batch_ids[0]}/change/",
        "BatchJob page, last page of its items": f"/admin/core/batchjob/{batch_ids[0]}/change/?items_page=last",
        "CV list": "/admin/core/cv/",
        "Prediction list": "/admin/core/prediction/",
        "Dashboard": "/admin/dashboard/",
    }
    print("\n| page | median | fastest – slowest | queries |\n|---|---|---|---|")
    for label, url in pages.items():
        result = time_page(client, url, args.runs)
        print(f"| {label} | {result['median'] * 1000:.0f} ms | {result['min'] * 1000:.0f} – "
              f"{result['max'] * 1000:.0f} ms | {result['queries']} |")
    print(f"\n{args.runs} runs per page after one warm-up; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
