"""A job's best candidates over 100,000 CVs: latency and recall@20 against an exact search.

    python -m benchmarks.bench_candidates [--cvs 100000] [--jobs 200] [--clusters 500]

Loads the CVs with binary COPY into core_cv with the CV HNSW index dropped, then builds it with
``core.operations.cv_index.build_cv_index`` (CREATE INDEX CONCURRENTLY, parallel workers,
maintenance_work_mem sized to the table) and reports the load as rows per second until searchable
(vectors stored and the index valid). The vectors are clustered as embeddings of related texts are:
each CV and job is a random topic centre plus as much noise again (cosine to its centre about 0.7).
Each job is then searched with ``candidates_for_job`` (top 20, warm, timed one by one) and compared
with the exact top 20 computed in numpy from the same float32 vectors.
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
    parser.add_argument("--cvs", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument(
        "--ef-search", type=int, nargs="+", default=[], help="hnsw.ef_search values to compare (default: the module's)"
    )
    args = parser.parse_args()
    setup_django()

    from django.conf import settings
    from django.db import connection

    from core.matching import candidates as search
    from core.matching.candidates import CandidateFilters, candidates_for_job
    from core.models import CV, Job
    from core.operations.cv_index import build_cv_index, cv_index_valid, drop_cv_index

    dims = settings.EMBEDDING_DIMENSIONS
    centres = make_centres(args.clusters, dims, seed=7)
    cv_vectors = clustered_vectors(args.cvs, centres, seed=8)
    job_vectors = clustered_vectors(args.jobs, centres, seed=9)
    skills = [Jsonb({"skills": [{"name": name, "keywords": []}]}) for name in ("Python", "SQL", "Go")]

    drop_cv_index()
    began = time.perf_counter()
    now = datetime.now(UTC)
    copy_vectors(
        "core_cv",
        "source_name, raw_text, content_hash, parsed, parse_status, parse_attempts, parse_error, embedding, "
        "embedding_status, embedding_attempts, embedding_error, created_at, updated_at",
        ["text", "text", "text", "jsonb", "text", "int2", "text", "vector", "text", "int2", "text", "timestamptz",
         "timestamptz"],
        (
            (f"cv{n}.txt", f"cv {n}", f"{n:064d}", skills[n % 3], "parsed", 1, "", vector, "embedded", 1, "", now, now)
            for n, vector in enumerate(cv_vectors)
        ),
    )
    loaded = time.perf_counter()
    build = build_cv_index()
    searchable = time.perf_counter()
    assert cv_index_valid() and CV.objects.exclude(embedding=None).count() == args.cvs
    print(
        f"loaded {args.cvs:,} CVs in {loaded - began:.1f} s, built the index in {searchable - loaded:.1f} s "
        f"({build}): {args.cvs / (searchable - began):,.0f} rows/s until searchable",
        flush=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_cv")

    ids = np.array(list(CV.objects.order_by("pk").values_list("pk", flat=True)))
    jobs = [
        Job.objects.create(external_id=f"J{n}", title="Engineer", embedding=vector)
        for n, vector in enumerate(job_vectors)
    ]
    candidates_for_job(jobs[0].pk, args.top)  # warm the index into memory
    for ef_search in args.ef_search or [search.CANDIDATE_EF_SEARCH]:
        search.CANDIDATE_EF_SEARCH = ef_search
        timings, recalls, filtered = [], [], []
        for job, vector in zip(jobs, job_vectors, strict=True):
            started = time.perf_counter()
            found = candidates_for_job(job.pk, args.top)
            timings.append((time.perf_counter() - started) * 1000)
            exact = set(ids[np.argpartition(-(cv_vectors @ vector), args.top)[: args.top]].tolist())
            recalls.append(len(exact & {c.cv_id for c in found}) / args.top)
            started = time.perf_counter()
            candidates_for_job(job.pk, args.top, CandidateFilters(skills=("Python",)))
            filtered.append((time.perf_counter() - started) * 1000)
        timings.sort()
        filtered.sort()
        print(
            f"ef_search {ef_search}: {args.jobs} jobs over {args.cvs:,} CVs, top {args.top}: median "
            f"{statistics.median(timings):.1f} ms, p95 {timings[int(0.95 * len(timings)) - 1]:.1f} ms, slowest "
            f"{timings[-1]:.1f} ms; recall@{args.top} mean {statistics.mean(recalls):.4f}, lowest "
            f"{min(recalls):.2f}; with a skill filter (a third pass): median {statistics.median(filtered):.1f} ms, "
            f"p95 {filtered[int(0.95 * len(filtered)) - 1]:.1f} ms",
            flush=True,
        )
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
