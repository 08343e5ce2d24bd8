"""What a scoring engine returns, and writing a scored frame to a file."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..csvsafe import write_csv
from ..errors import IcpkitError

OUT_COLUMNS = ["account_id", "score", "tier", "route", "reasons"]
TEXT_COLUMNS = ["account_id", "tier", "route", "reasons"]
PARQUET_SUFFIXES = (".parquet", ".pq")


class EngineUnavailable(IcpkitError, RuntimeError):
    """This scoring engine cannot run here."""


@dataclass
class EngineResult:
    """What an engine scored: the rows (``frame``) or the file written (``path``).

    ``unknown_attributes`` are attributes the ICP uses that the input lacks;
    ``bad_values`` counts, per attribute, values that are not numbers where
    the ICP expects one. Both also appear in ``warnings``.
    """

    engine: str
    rows: int
    frame: pd.DataFrame | None = None
    path: Path | None = None
    tiers: dict[str, int] = field(default_factory=dict)
    routes: dict[str, int] = field(default_factory=dict)
    unknown_attributes: list[str] = field(default_factory=list)
    bad_values: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> list[str]:
        """Two lines for the terminal: rows and destination; tiers and routes."""
        where = f" → {self.path}" if self.path is not None else ""
        return [
            f"scored {self.rows:,} accounts{where}",
            "tiers: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.tiers.items()))
            + " · routes: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.routes.items())),
        ]


def _write_frame(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if out.name.lower().endswith(PARQUET_SUFFIXES):
            frame.to_parquet(tmp, index=False)
        else:
            write_csv(frame, tmp, atomic=False)
        tmp.replace(out)
    finally:
        if tmp.exists():
            tmp.unlink()
