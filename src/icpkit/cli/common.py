"""Shared CLI pieces: the app, error conversion, progress and console."""

from __future__ import annotations

import functools
import gc
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..errors import IcpkitError, InputErrors

if TYPE_CHECKING:
    from ..workspace import Workspace

app = typer.Typer(
    name="icp",
    help="icpkit: a data-backed, tiered Ideal Customer Profile from your own revenue data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# the number is validation.tasks.PARALLEL_MIN_DEALS (not imported here: it loads the models)
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        min=1,
        help="threads for validation's independent parts (default: automatic, several from "
        "20,000 closed deals; 1: one after the other); the figures are the same either way",
    ),
]
console = Console(stderr=True, highlight=False)
out = Console(highlight=False)
# set by main(): the process is the command's own and ends with it
PROCESS = {"own": False}


@contextmanager
def loading(*modules: str) -> Iterator[None]:
    """Import what a command runs on (``modules``, and what the block imports), then set it
    aside from the garbage collector.

    pandas, scikit-learn, SciPy and DuckDB create some hundred thousand objects
    at import that live as long as the process, and the collector walks them
    all on each of its full passes: 0.3-0.45 s of a small ``icp run``. In the
    command's own process (``icp``, not a caller of the library or of the app)
    collection is off while they load (they are not garbage) and they are
    frozen after (``gc.freeze``): the collector still runs, on what the
    command creates.
    """
    if not PROCESS["own"]:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]Error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn icpkit's named errors into a message and a non-zero exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputErrors as exc:
            console.print(
                f"[bold red]Error:[/] {len(exc.errors)} problem(s) in the input:", soft_wrap=True
            )
            for e in exc.errors[:30]:
                console.print(f"  - {e}", soft_wrap=True, markup=False)
            if len(exc.errors) > 30:
                console.print(f"  … and {len(exc.errors) - 30} more")
            console.print("Nothing in the workspace was changed.")
            raise typer.Exit(2) from None
        except IcpkitError as exc:
            console.print("[bold red]Error:[/] ", end="")
            console.print(str(exc), soft_wrap=True, markup=False, highlight=False)
            raise typer.Exit(2 if isinstance(exc, ValueError) else 1) from None

    return wrapper  # type: ignore[return-value]


def warn_all(warnings: list[str]) -> None:
    for w in warnings:
        console.print(f"[yellow]warning:[/] {w}", soft_wrap=True, markup=True, highlight=False)


@contextmanager
def steps(total: int, enabled: bool | None = None) -> Iterator[Callable[[str], None]]:
    """A progress bar over named steps. ``advance(description)`` starts the next one."""
    show = sys.stderr.isatty() if enabled is None else enabled
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=False,
    )
    with progress:
        task = progress.add_task("starting", total=total)
        started = [False]

        def advance(description: str) -> None:
            if started[0]:
                progress.advance(task)
            started[0] = True
            progress.update(task, description=description)
            if not show:
                console.print(f"[dim]· {description}[/]")

        yield advance
        progress.update(task, completed=total, description="done")


@contextmanager
def writing(folder: Path, *also: Path | None, read_only: bool = False) -> Iterator[Workspace]:
    """The workspace in ``folder``, open for writing through :func:`icpkit.pipeline.output_folder`
    (created, locked, and a swap an interrupted ``icp run`` left finished first).

    ``also`` are further output folders the command writes into (``--out``), held the same way.
    ``read_only`` opens the workspace for reading only, for a command that writes files
    beside it but nothing into it. Every command that writes into an output folder opens
    it through this.
    """
    from contextlib import ExitStack

    from ..errors import NoWorkspaceData
    from ..pipeline import output_folder
    from ..workspace import Workspace

    if read_only and not Workspace(folder).file.exists():
        raise NoWorkspaceData()
    with ExitStack() as held:
        seen = {Path(folder).resolve()}
        held.enter_context(output_folder(folder))
        for extra in also:
            if extra is not None and Path(extra).resolve() not in seen:
                seen.add(Path(extra).resolve())
                held.enter_context(output_folder(extra))
        yield held.enter_context(Workspace(folder, read_only=read_only))
