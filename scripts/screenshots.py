"""Screenshots of the report's first page and of a persona card, for docs/.

Runs the chain on the bundled sample company (as `icp demo` does) into a
temporary folder, writes the report and the export cards, and captures them
with the system's headless Chromium (no browser download):

    python scripts/screenshots.py            # writes docs/report-first-page.png, docs/persona-card.png
    python scripts/screenshots.py --out DIR  # elsewhere

The first page is captured as a reader sees it on a laptop screen (1280 px
wide); the persona card at the width of a printed page.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from icpkit.export import write as write_cards
from icpkit.pipeline import run_all
from icpkit.report.pdf import browser_args, find_browser
from icpkit.sample import write_sample
from icpkit.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


def shot(browser: str, html: Path, png: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="icp-shot-") as profile:
        cmd = [
            *browser_args(browser),
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png.resolve()}",
            html.resolve().as_uri(),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if r.returncode != 0 or not png.exists():
        sys.exit(f"Chromium could not capture {html.name}: {r.stderr.strip()[-300:]}")
    print(f"wrote {png}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNG files")
    args = ap.parse_args()
    browser = find_browser()
    if browser is None:
        sys.exit("No Chromium found: install it (apt-get install chromium) or set ICP_CHROMIUM.")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="icp-screenshots-") as tmp:
        root = Path(tmp)
        files = write_sample(root / "in")
        out = root / "out"
        run_all(files, out)
        with Workspace(out, read_only=True) as ws:
            write_cards(ws, out / "export")
        shot(browser, out / "report.html", args.out / "report-first-page.png", 1280, 1500)
        shot(
            browser,
            out / "export" / "personas" / "tier-1-champion.html",
            args.out / "persona-card.png",
            880,
            760,
        )


if __name__ == "__main__":
    main()
