"""Progress bars for management commands (rich, on the command's stderr so stdout stays parseable).

All bars look the same and are drawn only when the stream is a terminal, so piped or captured output
(CI, tests, cron) gets the commands' plain text lines and nothing else.
"""

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def _progress(stream, label_width: int = 0) -> Progress:
    console = Console(file=stream)
    label = "{task.description:<%d}" % label_width if label_width else "{task.description}"  # noqa: UP031
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


@contextmanager
def progress_bar(description: str, total: int | None, stream):
    """Yields ``advance(n)``."""
    with _progress(stream) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


@contextmanager
def settling_bar(description: str, stream):
    """Yields ``update(finished, total)``: a bar whose total may grow (batches submitted meanwhile)."""
    with _progress(stream) as progress:
        task = progress.add_task(description, total=None)
        yield lambda finished, total: progress.update(task, completed=finished, total=total)


@contextmanager
def pipeline_progress(stream):
    """Yields ``refresh()``: one bar per stage, redrawn from the database's counts."""
    from core.selectors.progress import stage_progress

    with _progress(stream, label_width=16) as progress:
        tasks = {}

        def refresh():
            for stage in stage_progress():
                if stage.name not in tasks:
                    tasks[stage.name] = progress.add_task(stage.name, total=stage.total)
                progress.update(tasks[stage.name], completed=stage.finished, total=stage.total)

        refresh()
        yield refresh
