"""Shared text output of the pipeline commands: the run's events and its batch summary."""

from core.batches.ingest import IngestReport
from core.management.progress import pipeline_progress
from core.models import BatchJob
from core.selectors.batches import BatchSummary
from core.services.batch_service import BatchService
from core.workflow.runner import RunResult, run_pipeline
from core.workflow.steps import PipelineEvent


def ingested_line(batch: BatchJob, report: IngestReport) -> str:
    return f"ingested {batch.kind} {batch.provider_batch_id}: {report.describe()}"


def describe_event(event: PipelineEvent) -> str | None:
    if event.stage == "submit":
        return f"submitted {event.detail['batches']} {event.kind} batch(es), {event.detail['requests']} requests"
    if event.stage == "ingest":
        return ingested_line(event.detail["batch"], event.detail["report"])
    if event.stage == "match":
        return f"matched {event.detail['cvs']} CVs, {event.detail['predictions']} predictions"
    if event.stage == "index":
        return f"built the CV index after the bulk load ({event.detail['how']})"
    if event.stage == "wait":
        return f"waiting {event.detail['seconds']:.0f}s for {event.detail['open_batches']} batch(es) in flight"
    return None


def run_pipeline_shown(command, service: BatchService, indent: str = "", **options) -> RunResult:
    """``run_pipeline`` with a line per event on the command's stdout and a bar per stage on its stderr."""
    with pipeline_progress(command.stderr) as refresh:

        def on_event(event: PipelineEvent) -> None:
            line = describe_event(event)
            if line:
                command.stdout.write(indent + line)
            refresh()

        return run_pipeline(service, on_event=on_event, **options)


def summary_lines(summary: BatchSummary) -> list[str]:
    kinds = ", ".join(f"{count} {kind}" for kind, count in summary.by_kind.items()) or "none"
    saving = summary.synchronous_cost - summary.batch_cost
    return [
        f"batches:   {summary.batches} ({kinds})",
        f"requests:  {summary.requests} ({summary.succeeded} succeeded, {summary.failed} failed, "
        f"{summary.not_run} not run; {summary.retries} were retries)",
        f"tokens:    {summary.input_tokens:,} input, {summary.output_tokens:,} output",
        f"cost:      ${summary.batch_cost:.4f} at Batch API prices vs ${summary.synchronous_cost:.4f} synchronous "
        f"(saves ${saving:.4f})",
    ]
