"""The ICP as an estimator: ``IcpLearner().fit(accounts, deals)`` in a notebook.

The same learning as ``icp build`` (one function, :func:`icpkit.profile.fit_icp`),
behind the scikit-learn contract: ``__init__`` only stores parameters, ``fit``
validates the inputs through the same cleaner as ``icp ingest``, learns, sets
trailing-underscore attributes and returns ``self``; ``score`` needs a fitted
learner.

Example
-------
>>> from icpkit import IcpLearner
>>> from icpkit.sample import generate
>>> tables = generate(n_accounts=600)
>>> learner = IcpLearner(objective="win").fit(tables["accounts"], tables["deals"])
>>> learner.icp_.evidence.closed_deals > 100
True
>>> scores = learner.score(tables["accounts"].head(3))
>>> list(scores.columns[:4])
['account_id', 'score', 'tier', 'route']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .errors import InputErrors, NotFittedError
from .icpfile import ICP, dumps
from .profile import MAX_EXCLUDED_SHARE, OBJECTIVES

__all__ = ["IcpLearner"]


def _canonical(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Clean a frame as ``icp ingest`` cleans a file of table ``name``."""
    from .ingest.canonical import canonicalize

    raw = frame.astype(object).where(frame.notna(), None)
    raw = raw.map(lambda v: v if v is None or isinstance(v, str) else _text(v))
    df, _warnings, errors, kinds = canonicalize(name, raw, f"<{name} frame>")
    if errors:
        raise InputErrors(errors)
    return df, kinds


def _text(v: Any) -> str:
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, list | tuple | set):
        return ";".join(str(x) for x in v)
    return str(v)


class IcpLearner:
    """Learn a tiered ICP, negative ICP and scorecard from accounts and deals.

    Parameters
    ----------
    objective : {"auto", "value", "win"}, default "auto"
        ``value`` counts a deal as a success when it was won and the customer
        still pays (needs ``revenue``); ``auto`` uses value when it can.
    min_support : int, optional
        Minimum closed deals behind a criterion (default 30, or 5% on small data).
    max_excluded_share : float, default 0.2
        Most of the accounts the disqualifiers may veto together.
    search : bool, default True
        Search segments of 2-3 conditions.

    Attributes
    ----------
    icp_ : ICP
        The learned ICP (what ``icp.yaml`` holds).
    segments_ : DataFrame
        The pattern table (``segments.csv``).
    warnings_ : list of str
    feature_names_in_ : list of str
        Account columns the learner could use.
    """

    def __init__(
        self,
        *,
        objective: str = "auto",
        min_support: int | None = None,
        max_excluded_share: float = MAX_EXCLUDED_SHARE,
        search: bool = True,
    ) -> None:
        self.objective = objective
        self.min_support = min_support
        self.max_excluded_share = max_excluded_share
        self.search = search

    def _check_params(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"The 'objective' parameter of IcpLearner must be one of {', '.join(OBJECTIVES)}. "
                f"Got {self.objective!r} instead."
            )
        if self.min_support is not None and (
            not isinstance(self.min_support, int) or self.min_support < 1
        ):
            raise ValueError(
                "The 'min_support' parameter of IcpLearner must be an int >= 1 or None. "
                f"Got {self.min_support!r} instead."
            )
        if not isinstance(self.max_excluded_share, int | float) or not (
            0 <= self.max_excluded_share <= 1
        ):
            raise ValueError(
                "The 'max_excluded_share' parameter of IcpLearner must be a float in [0, 1]. "
                f"Got {self.max_excluded_share!r} instead."
            )

    def fit(
        self,
        accounts: pd.DataFrame,
        deals: pd.DataFrame,
        *,
        revenue: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
    ) -> IcpLearner:
        """Learn from account and deal frames (CRM export shapes are mapped as on ingest).

        Parameters
        ----------
        accounts : DataFrame, shape (n_accounts, n_columns)
        deals : DataFrame, shape (n_deals, n_columns)
        revenue : DataFrame, optional
            MRR by period or subscriptions, for the value objective and health.
        events : DataFrame, optional
            Triggering events, for timing.

        Returns
        -------
        self
        """
        from .ingest import infer_family
        from .profile import fit_icp
        from .retention import compute_retention

        self._check_params()
        acc, kinds = _canonical("accounts", accounts)
        dl, _ = _canonical("deals", deals)
        families = {c: infer_family(c) for c in kinds if c not in ("account_id", "name")}
        extra = meta = None
        if revenue is not None:
            rev, _ = _canonical("revenue", revenue)
            ret = compute_retention(acc, deals=dl, revenue=rev)
            extra, meta = ret.components, ret.meta
        ev = _canonical("events", events)[0] if events is not None else None
        build = fit_icp(
            acc,
            dl,
            kinds=kinds,
            families=families,
            min_support=self.min_support,
            extra_health=extra,
            extra_health_meta=meta,
            search=self.search,
            events=ev,
            objective=self.objective,
            max_excluded_share=self.max_excluded_share,
        )
        self.icp_: ICP = build.icp
        self.segments_: pd.DataFrame = build.segments
        self.warnings_: list[str] = list(build.warnings)
        self.feature_names_in_: list[str] = [c for c in kinds if c not in ("account_id", "name")]
        return self

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "icp_"):
            raise NotFittedError(
                "This IcpLearner is not fitted yet: call fit(accounts, deals) first."
            )

    def score(self, accounts: pd.DataFrame) -> pd.DataFrame:
        """Score account rows: ``account_id, score, tier, route, reasons`` and points per attribute."""
        from .scoring.scorer import score_accounts

        self._check_is_fitted()
        return score_accounts(self.icp_, accounts).frame

    def to_yaml(self) -> str:
        """The learned ICP as ``icp.yaml`` text."""
        self._check_is_fitted()
        return dumps(self.icp_)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "min_support": self.min_support,
            "max_excluded_share": self.max_excluded_share,
            "search": self.search,
        }

    def set_params(self, **params: Any) -> IcpLearner:
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(
                    f"Invalid parameter {k!r} for IcpLearner; use one of {sorted(valid)}"
                )
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"IcpLearner({args})"
