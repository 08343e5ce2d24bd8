"""`icp --help`, `icp --version` and `icp COMMAND --help` start without the data libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

import icpkit
from icpkit.cli import app

HEAVY = ("pandas", "scipy", "sklearn", "duckdb", "pyarrow")

# Runs `icp ARGS` for every ARGS in a fresh interpreter, then prints which heavy modules it loaded
# (through the app: main() ends the process when its command is done).
PROBE = """
import json, sys
from typer.main import get_command
from icpkit.cli import main, app

group = get_command(app)
runs = [["--help"], ["--version"], ["token", "create", "--help"]]
runs += [[name, "--help"] for name in sorted(group.commands)]
for argv in runs:
    sys.argv = ["icp", *argv]
    try:
        app()
    except SystemExit as exc:
        assert exc.code in (0, None), (argv, exc.code)
heavy = {heavy!r}
print(json.dumps({{"runs": len(runs), "loaded": [m for m in heavy if m in sys.modules]}}))
"""


def _python(code: str) -> str:
    src = str(Path(icpkit.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_and_version_do_not_import_the_data_libraries():
    out = _python(PROBE.format(heavy=HEAVY))
    report = json.loads(out.strip().splitlines()[-1])
    assert report["runs"] > 10  # every command's help was printed
    assert report["loaded"] == [], f"`icp --help` imported {report['loaded']}"
    assert "Usage: icp" in out and f"icpkit {icpkit.__version__}" in out


def test_the_probe_would_see_a_heavy_import():
    out = _python("import sys, pandas; print([m for m in ('pandas',) if m in sys.modules])")
    assert out.strip() == "['pandas']"


def test_version_is_the_package_version():
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0
    assert r.output.strip() == f"icpkit {icpkit.__version__}"
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    assert tomllib.loads(pyproject.read_text())["project"]["version"] == icpkit.__version__


def test_sql_help_lists_the_compilers_dialects():
    from icpkit.cli.sql import DIALECTS as HELP_DIALECTS
    from icpkit.scoring.sql import DIALECTS

    assert HELP_DIALECTS == DIALECTS


def _icp(*args: str, before: str = "") -> subprocess.CompletedProcess[str]:
    src = str(Path(icpkit.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    code = f"import sys\n{before}\nfrom icpkit.cli import main\nsys.argv = ['icp', *{list(args)!r}]\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )


def test_the_process_ends_with_the_commands_status_output_and_exit_handlers(tmp_path):
    """main() ends the process itself: the exit status, all the output and the exit
    handlers are those of a normal exit."""
    bye = "import atexit; atexit.register(lambda: print('exit handler ran'))"
    done = _icp("--version", before=bye)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"icpkit {icpkit.__version__}", "exit handler ran"]
    done = _icp("--no-such-option")
    assert done.returncode == 2 and "No such option" in done.stderr
    missing = tmp_path / "missing.csv"
    args = [
        "--icp",
        str(tmp_path / "icp.yaml"),
        "--accounts",
        str(missing),
        "--out",
        str(tmp_path / "o.csv"),
    ]
    done = _icp("score", *args, before=bye)
    assert done.returncode == 2 and "file not found" in done.stderr
    assert "exit handler ran" in done.stdout
    # a thread still working is waited for, as at a normal exit
    worker = "import threading, time; threading.Thread(target=lambda: (time.sleep(0.5), print('worker done'))).start()"
    done = _icp("--version", before=worker)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "worker done"
