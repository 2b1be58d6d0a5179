"""Matching 10,000 embedded CVs against 10,000 jobs (768 dimensions), predictions written.

    python benchmarks/bench_matching.py [--cvs 10000] [--jobs 10000] [--workers 2]

Reports CVs matched per second through core.matching.matcher.match_pending_cvs (LATERAL join
over the job HNSW index, upsert of the top 10) and recall@10 against exact search in numpy.
"""

import argparse
import statistics
import time
from datetime import UTC, datetime

import numpy as np
from psycopg.types.json import Jsonb

from benchmarks.harness import clustered_vectors, copy_vectors, make_centres, peak_rss_mb, setup_django


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cvs", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--recall-sample", type=int, default=1000)
    parser.add_argument("--ef-search", type=int, help="override MATCH_EF_SEARCH")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=None, help="CVs per statement (default: the matcher's)")
    parser.add_argument("--noise", type=float, default=1.0, help="spread around cluster centres (harder when higher)")
    args = parser.parse_args()
    setup_django(**({"MATCH_EF_SEARCH": str(args.ef_search)} if args.ef_search else {}))

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from core.matching.matcher import match_pending_cvs
    from core.models import CV, Job, Prediction

    dims = settings.EMBEDDING_DIMENSIONS
    centres = make_centres(200, dims, seed=1)
    jobs = clustered_vectors(args.jobs, centres, seed=2, noise=args.noise)
    cvs = clustered_vectors(args.cvs, centres, seed=3, noise=args.noise)

    now = datetime.now(UTC)
    load_start = time.perf_counter()
    # Bulk-load without the HNSW indexes (migration 0004) and build them afterwards, as a real bulk
    # load would: building is much cheaper than inserting row by row into the graph.
    call_command("migrate", "core", "0003", verbosity=0)
    copy_vectors(
        "core_job",
        "external_id, title, company, location, description, skills, embedding, embedding_status, "
        "embedding_attempts, embedding_error, embedded_at, is_active, created_at, updated_at",
        [
            "text",
            "text",
            "text",
            "text",
            "text",
            "jsonb",
            "vector",
            "text",
            "int2",
            "text",
            "timestamptz",
            "bool",
            "timestamptz",
            "timestamptz",
        ],
        (
            (f"J{i}", f"Job {i}", "", "", "", Jsonb([]), vector, "embedded", 1, "", now, True, now, now)
            for i, vector in enumerate(jobs)
        ),
    )
    copy_vectors(
        "core_cv",
        "source_name, raw_text, content_hash, parse_status, parse_attempts, parse_error, embedding, "
        "embedding_status, embedding_attempts, embedding_error, embedded_at, created_at, updated_at",
        [
            "text",
            "text",
            "text",
            "text",
            "int2",
            "text",
            "vector",
            "text",
            "int2",
            "text",
            "timestamptz",
            "timestamptz",
            "timestamptz",
        ],
        (
            (f"cv{i}.txt", f"cv {i}", f"{i:064x}", "parsed", 1, "", vector, "embedded", 1, "", now, now, now)
            for i, vector in enumerate(cvs)
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
    call_command("migrate", "core", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_job; ANALYZE core_cv")
    print(
        f"loaded {args.jobs} jobs and {args.cvs} CVs and built both HNSW indexes in "
        f"{time.perf_counter() - load_start:.1f} s"
    )

    rates = []
    for _ in range(args.repeats):
        with connection.cursor() as cursor:
            # Every CV needs matching again: no predictions, no snapshot it was matched under.
            cursor.execute(
                "DELETE FROM core_prediction; UPDATE core_cv SET last_matched_at = NULL, matched_in_id = NULL;"
                " DELETE FROM core_matchsnapshot"
            )
            cursor.execute("VACUUM ANALYZE core_cv")
            cursor.execute("VACUUM ANALYZE core_prediction")
        start = time.perf_counter()
        report = match_pending_cvs(workers=args.workers, **({"chunk_size": args.chunk} if args.chunk else {}))
        elapsed = time.perf_counter() - start
        rates.append(report.cvs / elapsed)
        print(
            f"matched {report.cvs} CVs, {report.predictions} predictions in {elapsed:.2f} s: "
            f"{report.cvs / elapsed:,.0f} CVs/s"
        )
    print(
        f"median {statistics.median(rates):,.0f} CVs/s over {args.repeats} runs "
        f"({args.workers} workers, ef_search {settings.MATCH_EF_SEARCH})"
    )

    # Recall@10 against exact cosine search over the same vectors.
    rng = np.random.default_rng(4)
    sample = rng.choice(args.cvs, size=min(args.recall_sample, args.cvs), replace=False)
    cv_ids = sorted(CV.objects.values_list("pk", flat=True))  # row i of `cvs` was loaded as the i-th id
    job_pk_by_row = sorted(Job.objects.values_list("pk", flat=True))
    exact_start = time.perf_counter()
    exact = np.argsort(-(cvs[sample] @ jobs.T), axis=1)[:, :10]
    exact_elapsed = time.perf_counter() - exact_start
    found = {}
    for cv_id, job_id in Prediction.objects.filter(cv_id__in=[cv_ids[i] for i in sample], rank__lte=10).values_list(
        "cv_id", "job_id"
    ):
        found.setdefault(cv_id, set()).add(job_id)
    hits = sum(
        len(found.get(cv_ids[i], set()) & {job_pk_by_row[j] for j in row}) for i, row in zip(sample, exact, strict=True)
    )
    recall = hits / (10 * len(sample))
    print(
        f"recall@10 = {recall:.4f} over {len(sample)} CVs (exact numpy search: "
        f"{len(sample) / exact_elapsed:,.0f} CVs/s)"
    )
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
