"""Print an HTML file to PDF with a headless Chromium, when one is installed.

No browser is downloaded: the system's Chromium (or Chrome) is used, found on
PATH or named by the ``ICP_CHROMIUM`` environment variable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import IcpkitError

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_browser() -> str | None:
    """The path of a Chromium-family browser, or None when there is none."""
    env = os.environ.get("ICP_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_args(browser: str) -> list[str]:
    """Headless flags; ``--no-sandbox`` only where Chromium refuses to run without it (as root)."""
    args = [
        browser,
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def html_to_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 120) -> Path:
    """Print ``html`` to ``pdf`` (written whole or not at all); raises IcpError without a browser."""
    browser = find_browser()
    if browser is None:
        raise IcpkitError(
            "No Chromium found to print the PDF: install it (e.g. `apt-get install chromium`) "
            "or set ICP_CHROMIUM to the browser's path."
        )
    src = Path(html).resolve()
    dest = Path(pdf)
    tmp = dest.with_suffix(".pdf.tmp")
    with tempfile.TemporaryDirectory(prefix="icp-chromium-") as profile:
        cmd = [
            *browser_args(browser),
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={tmp.resolve()}",
            src.as_uri(),
        ]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            tmp.unlink(missing_ok=True)
            raise IcpkitError(
                f"Chromium did not finish printing {src.name} in {timeout:.0f}s"
            ) from e
    if r.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise IcpkitError(
            f"Chromium could not print {src.name} to PDF (exit {r.returncode}): "
            + (r.stderr.strip().splitlines() or ["no message"])[-1]
        )
    tmp.replace(dest)
    return dest
