"""The ``icp`` command. Each command is a thin adapter over one library call.

Each subject's commands live in their own module, which exposes
``register(app)``; this module registers them all. A command module
imports only typer, rich and ``icpkit.errors`` at the top and the rest of
the library inside the command, so that ``icp --help`` loads no pandas,
DuckDB or scikit-learn (tests/test_startup.py checks it).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Annotated

import typer

from .. import __version__
from . import ask, core, loop, personas, serve, sql, validate
from .common import PROCESS, app, out

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
    PROCESS["own"] = True
    try:
        app()
    except SystemExit as done:
        _exit(done.code)
        raise
    _exit(0)


def _exit(code: object) -> None:
    """End the process once the command is done, without tearing down every module.

    What the interpreter's exit does that matters is done here, in its order:
    other threads are waited for (when any runs, the normal exit is left to do
    it), the exit handlers run (logging, temporary folders, ...), and the
    output is flushed. What is skipped is freeing, one by one, the objects
    pandas, SciPy, scikit-learn and DuckDB created at import: 0.2-0.6 s for
    nothing, since every file the command writes is closed by then. Returns
    (for a normal exit) when ``code`` is not a plain exit status.
    """
    if code is None:
        code = 0
    if not isinstance(code, int) or any(
        t is not threading.main_thread() and not t.daemon for t in threading.enumerate()
    ):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the normal exit would not write either
            code = code or 120
    os._exit(code)


__all__ = ["app", "main", "typer"]
