"""Shared text output of the pipeline commands: the run's events and its batch summary."""

from core.pipeline.runner import PipelineEvent
from core.pipeline.selectors import BatchSummary


def describe_event(event: PipelineEvent) -> str | None:
    if event.stage == "submit":
        return f"submitted {event.detail['batches']} {event.kind} batch(es), {event.detail['requests']} requests"
    if event.stage == "ingest":
        report = event.detail["report"]
        return (
            f"ingested {event.kind} {event.detail['batch']}: {report.succeeded} succeeded, {report.failed} failed, "
            f"{report.not_run} not run, {report.retried} to retry, {report.given_up} given up"
        )
    if event.stage == "match":
        return f"matched {event.detail['cvs']} CVs, {event.detail['predictions']} predictions"
    if event.stage == "wait":
        return f"waiting {event.detail['seconds']:.0f}s for {event.detail['open_batches']} batch(es) in flight"
    return None


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
