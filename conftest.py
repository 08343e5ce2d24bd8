"""Collection rules for the docstring examples in src/icpkit (run with --doctest-modules)."""

from __future__ import annotations

import importlib.util

# modules of an optional extra that is not installed cannot be imported to read their examples
collect_ignore_glob: list[str] = []
if importlib.util.find_spec("fastapi") is None:
    collect_ignore_glob.append("src/icpkit/web/*.py")
