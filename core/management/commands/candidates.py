"""`manage.py candidates JOB_ID [--top 20]`: the best CVs for a job, as the job's admin page ranks them.

Reads the database only; with ``--explain N`` it also asks for the top N to be explained, which the
next pipeline run (or Celery tick) sends as a ``candidate_explanation`` batch.
"""

import argparse

from django.core.management.base import BaseCommand, CommandError

from core.management.batch_commands import format_table, positive_int, shorten
from core.matching.candidates import CandidateFilters
from core.models import Job
from core.operations.candidates import request_candidate_explanations
from core.selectors.candidates import ranked_candidates


def cosine(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not -1.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a cosine similarity (between -1 and 1)")
    return number


class Command(BaseCommand):
    help = "The best candidates (CVs) for one job, best score first, with the evidence behind each label."

    def add_arguments(self, parser):
        parser.add_argument("job", help="a job id or its external_id")
        parser.add_argument("--top", type=positive_int, default=20, help="candidates shown (default 20)")
        parser.add_argument("--min-score", type=cosine, default=-1.0, help="only scores at least this")
        parser.add_argument("--location", default="", help="only CVs whose location contains this text")
        parser.add_argument(
            "--skill", dest="skills", action="append", default=[], help="a skill the CV must list (repeatable)"
        )
        parser.add_argument(
            "--explain", type=positive_int, metavar="N", help="ask for the top N to be explained (batch pipeline)"
        )

    def handle(self, *args, job, top, min_score, location, skills, explain, **options):
        job = _resolve_job(job)
        if job.embedding is None:
            raise CommandError(f"job {job.pk} ({job}) has no embedding yet ({job.embedding_status}): run the pipeline")
        try:
            filters = CandidateFilters(min_score=min_score, location=location, skills=tuple(skills))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if explain:
            report = request_candidate_explanations(job.pk, explain, filters)
            self.stdout.write(
                f"explanations: {report.requested} requested, {report.renewed} renewed (score moved), "
                f"{report.unchanged} already asked"
            )
        rows = ranked_candidates(job, top, filters)
        self.stdout.write(f"{job} ({job.external_id}): {len(rows)} candidate(s)")
        if not rows:
            return
        table = [
            (
                row.rank,
                row.candidate.cv_id,
                shorten(row.candidate.name, 28),
                f"{row.candidate.score:.3f}",
                row.evidence.label,
                row.evidence.summary,
                row.explanation_state,
            )
            for row in rows
        ]
        for line in format_table(["#", "cv", "name", "score", "label", "evidence", "explanation"], table):
            self.stdout.write(line)


def _resolve_job(identifier: str) -> Job:
    job = Job.objects.filter(external_id=identifier).first()
    if job is None and identifier.isdigit():
        job = Job.objects.filter(pk=int(identifier)).first()
    if job is None:
        raise CommandError(f"no job with id or external_id {identifier!r}")
    return job
