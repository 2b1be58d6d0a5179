"""Progress bars for management commands (rich, on the command's stderr so stdout stays parseable)."""

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def progress_bar(description: str, total: int | None, stream):
    """Yields ``advance(n)``; draws nothing when the stream is not a terminal."""
    console = Console(file=stream)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


@contextmanager
def pipeline_progress(stream):
    """Yields ``refresh()``: one bar per stage, redrawn from the database's counts."""
    from core.pipeline.selectors import stage_progress

    console = Console(file=stream)
    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        tasks = {}

        def refresh():
            for stage in stage_progress():
                if stage.name not in tasks:
                    tasks[stage.name] = progress.add_task(stage.name, total=stage.total)
                progress.update(tasks[stage.name], completed=stage.finished, total=stage.total)

        refresh()
        yield refresh
