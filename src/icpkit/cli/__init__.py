"""The ``icp`` command. Each command is a thin adapter over one library call.

Subjects add their commands from their own module (listed in
``COMMAND_MODULES``), each exposing ``register(app)``. A command module
imports only typer, rich and ``icpkit.errors`` at the top and the rest of
the library inside the command, so that ``icp --help`` loads no pandas,
DuckDB or scikit-learn (tests/test_startup.py checks it).
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .._optional import optional_module
from .common import app, out

COMMAND_MODULES = (
    "icpkit.cli.core",
    "icpkit.cli.validate",
    "icpkit.cli.personas",
    "icpkit.cli.ask",
    "icpkit.cli.sql",
    "icpkit.cli.serve",
)

for _mod in COMMAND_MODULES:
    _m = optional_module(_mod)
    if _m is not None:
        _m.register(app)


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
