"""Generate the CLI reference (docs/cli.md) from the commands' own help.

Run ``python -m icpkit.clidocs`` after changing a command; a test fails when
the file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

ENV = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}


def generate() -> str:
    from .cli import app

    runner = CliRunner(env=ENV)
    group = get_command(app)
    parts = [
        "# CLI reference",
        "",
        "Generated from `icp COMMAND --help` by `python -m icpkit.clidocs`; do not edit by hand.",
        "",
    ]
    for name in sorted(group.commands):  # type: ignore[attr-defined]
        result = runner.invoke(app, [name, "--help"], prog_name="icp")
        text = "\n".join(line.rstrip() for line in result.output.strip().splitlines())
        parts += [f"## icp {name}", "", "```text", text, "```", ""]
    return "\n".join(parts)


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/cli.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(generate(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
