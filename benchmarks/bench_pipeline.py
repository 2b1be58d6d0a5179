"""The whole mock pipeline for 10,000 CVs and 1,000 jobs, import to explanations.

    python -m benchmarks.bench_pipeline [--cvs 10000] [--jobs 1000]

CV files are generated from the bundled samples (each sample's text with a new name, contact line and
a reshuffled skill list, so every file is distinct), written to a temporary folder and imported with
import_cv_files; jobs likewise from jobs.jsonl. Then run_pipeline runs parse, embed, match and
explain on the mock with its default 5% failure rate and retries. Reports per stage the wall time, the
CPU time of this process and of the mock's worker processes, PostgreSQL's CPU time, and how many cores
were busy on average (both CPU times over the wall time: on two cores, 2.0 leaves nothing idle), then the
peak RSS of this process and of the mock's worker processes. On a machine shared with other work the CPU
times compare better than the wall times.
"""

import argparse
import random
import re
import resource
import time
from pathlib import Path

import orjson

from benchmarks.harness import REPO, cpu_seconds, peak_rss_mb, postgres_cpu_seconds, setup_django

SAMPLES = REPO / "core" / "sample_data"
FIRST = ["Ada", "Grace", "Alan", "Maria", "Linus", "Chloe", "Omar", "Priya", "Jonas", "Ines", "Kenji", "Zara", "Tariq"]
LAST = ["Lovelace", "Hopper", "Turing", "Lopez", "Berg", "Martin", "Haddad", "Sharma", "Weber", "Costa", "Okafor"]


def write_cvs(folder: Path, count: int, rng: random.Random) -> None:
    templates = [path.read_text() for path in sorted((SAMPLES / "cvs").iterdir())]
    for n in range(count):
        lines = templates[n % len(templates)].splitlines()
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        lines[0] = ("# " if lines[0].startswith("#") else "") + name
        text = "\n".join(lines)
        text = re.sub(r"[\w.+-]+@example\.(com|org)", f"candidate{n}@example.com", text)
        text += f"\n\nReference number: CV-{n:06d}\n"
        (folder / f"cv-{n:06d}.txt").write_text(text)


def write_jobs(path: Path, count: int, rng: random.Random) -> None:
    templates = [orjson.loads(line) for line in (SAMPLES / "jobs.jsonl").read_bytes().splitlines() if line.strip()]
    with path.open("wb") as handle:
        for n in range(count):
            job = dict(templates[n % len(templates)])
            job["external_id"] = f"BENCH-{n:05d}"
            job["skills"] = rng.sample(job["skills"], k=max(3, len(job["skills"]) - rng.randint(0, 2)))
            job["location"] = rng.choice(["Berlin", "London", "Lisbon", "Remote", "Chicago", "Toronto"])
            handle.write(orjson.dumps(job) + b"\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cvs", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=1_000)
    args = parser.parse_args()
    scratch = setup_django()

    from core.importing.cvs import import_cv_files
    from core.importing.jobs import import_jobs_file
    from core.models import BatchJob, ExplanationStatus, Prediction
    from core.selectors.batches import summarize_batches
    from core.services.batch_service import BatchService
    from core.workflow.runner import run_pipeline

    rng = random.Random(7)
    folder = scratch / "cv-files"
    folder.mkdir()
    write_cvs(folder, args.cvs, rng)
    jobs_path = scratch / "jobs.jsonl"
    write_jobs(jobs_path, args.jobs, rng)

    def clocks() -> tuple[float, float, float]:
        return time.perf_counter(), cpu_seconds(), postgres_cpu_seconds(scratch)

    stages: dict[str, list[float]] = {}  # stage -> [wall, CPU of this process and the mock's, PostgreSQL's CPU]
    last = list(clocks())
    started = list(last)

    def mark(key: str) -> None:
        now = clocks()
        totals = stages.setdefault(key, [0.0, 0.0, 0.0])
        for n in range(3):
            totals[n] += now[n] - last[n]
        last[:] = now

    cvs = import_cv_files([folder])
    jobs = import_jobs_file(jobs_path)
    mark("import")
    assert cvs.created == args.cvs and jobs.created == args.jobs, (cvs, jobs)

    def on_event(event):
        mark(f"{event.stage} {event.kind or ''}".strip())

    result = run_pipeline(BatchService(use_mock=True), wait=True, poll_interval=0.5, on_event=on_event)
    total, cpu_total, pg_total = (now - then for now, then in zip(clocks(), started, strict=True))
    assert result.finished
    summary = summarize_batches(BatchJob.objects.all())
    explained = Prediction.objects.filter(explanation_status=ExplanationStatus.DONE).count()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{args.cvs} CVs and {args.jobs} jobs, import to explanations: {total:.1f} s "
        f"({cpu_total:.1f} s of CPU, PostgreSQL {pg_total:.1f} s; {(cpu_total + pg_total) / total:.2f} cores busy)"
    )
    print(
        f"  {summary.batches} batches, {summary.requests} requests, {summary.failed} failed, "
        f"{summary.retries} retries; {explained} explanations"
    )
    print("  stage (time until its event, cumulative)   wall     CPU  PostgreSQL  cores busy")
    for stage, (wall, cpu, pg) in stages.items():
        print(f"  {stage:<40} {wall:6.1f} s {cpu:6.1f} s {pg:8.1f} s {(cpu + pg) / wall:8.2f}")
    print(f"peak RSS {peak_rss_mb():.0f} MB (largest mock worker process {children:.0f} MB)")


if __name__ == "__main__":
    main()
