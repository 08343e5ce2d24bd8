"""Progress of a long scoring run: a terminal bar, or a caller's callback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

ProgressFn = Callable[[float], None]


@contextmanager
def _rich_bar(description: str) -> Iterator[ProgressFn]:
    """A progress bar on stderr (only on a terminal); yields ``update(fraction)``."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=1.0)
        yield lambda f: progress.update(task, completed=max(0.0, min(1.0, f)))


@contextmanager
def _progress_fn(
    progress: ProgressFn | bool | None, description: str
) -> Iterator[ProgressFn | None]:
    if progress is True:
        with _rich_bar(description) as update:
            yield update
    elif callable(progress):
        yield progress
    else:
        yield None
