"""Day numbers and the small random draws shared by every table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EPOCH = np.datetime64("1970-01-01", "D")
END_D = int((np.datetime64("2026-06-30", "D") - EPOCH).astype(int))
START_D = int((np.datetime64("2024-07-01", "D") - EPOCH).astype(int))


def to_dates(days: Any) -> pd.Series:
    """Day numbers (float, NaN allowed) to a datetime64 Series."""
    return pd.Series(pd.to_datetime(np.asarray(days, dtype=float), unit="D")).astype(
        "datetime64[s]"
    )


def month_of(days: np.ndarray) -> np.ndarray:
    """Day numbers to month numbers (months since 1970-01)."""
    return (EPOCH + days.astype(int)).astype("datetime64[M]").astype(int)


def month_start(months: np.ndarray) -> np.ndarray:
    """Month numbers to the day number of the month's first day."""
    return (np.asarray(months).astype("datetime64[M]").astype("datetime64[D]") - EPOCH).astype(int)


def pick(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a probability matrix (rows need not sum to 1)."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1)


def choice(rng: np.random.Generator, pool: Any, n: int) -> np.ndarray:
    """``n`` uniform draws from ``pool`` as an object array."""
    arr = np.asarray(pool, dtype=object)
    return arr[rng.integers(0, len(arr), n)]


def dedupe(values: pd.Series, extra: np.ndarray) -> pd.Series:
    """Make repeated values unique: occurrence k (from 0) gets ``extra[k]`` appended; past the
    end of ``extra``, its last entry and then the number k + 1."""
    k = values.groupby(values).cumcount().to_numpy()
    out = values + extra[np.minimum(k, len(extra) - 1)]
    over = k >= len(extra)
    out[over] = out[over] + " " + pd.Series(k[over] + 1, index=out.index[over]).astype(str)
    return out
