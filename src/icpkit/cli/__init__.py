"""The ``icp`` command. Each command is a thin adapter over one library call.

Each subject's commands live in their own module, which exposes
``register(app)``; this module registers them all. A command module
imports only typer, rich and ``icpkit.errors`` at the top and the rest of
the library inside the command, so that ``icp --help`` loads no pandas,
DuckDB or scikit-learn (tests/test_startup.py checks it).
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import ask, core, loop, personas, serve, sql, validate
from .common import app, out

for _commands in (core, validate, personas, ask, loop, sql, serve):
    _commands.register(app)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"icpkit {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    # the group's own options; the help text is the app's. Commands import the library
    # (pandas, DuckDB, ...) when they run, so --help and --version do not load it.
    pass


def main() -> None:
    app()


__all__ = ["app", "main", "typer"]
