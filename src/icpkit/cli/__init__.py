"""The ``icp`` command. Each command is a thin adapter over one library call.

Subjects add their commands from their own module (listed in
``COMMAND_MODULES``), each exposing ``register(app)``.
"""

from __future__ import annotations

import typer

from .._optional import optional_module
from .common import app

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


def main() -> None:
    app()


__all__ = ["app", "main", "typer"]
