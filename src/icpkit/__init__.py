"""icpkit: a data-backed, tiered Ideal Customer Profile from your own revenue data."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["IcpLearner", "__version__"]


def __getattr__(name: str) -> Any:
    # imported on first use, so `import icpkit` (and `icp --help`) stays light
    if name == "IcpLearner":
        from .learner import IcpLearner

        return IcpLearner
    raise AttributeError(f"module 'icpkit' has no attribute {name!r}")
