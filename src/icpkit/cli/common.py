"""Shared CLI pieces: the app, error conversion, progress and console."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..errors import IcpkitError, InputErrors

app = typer.Typer(
    name="icp",
    help="icpkit: a data-backed, tiered Ideal Customer Profile from your own revenue data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

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
