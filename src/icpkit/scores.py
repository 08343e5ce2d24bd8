"""Account scores: the fit score, plus timing, priority and why-now when the ICP has triggers.

The one scoring call behind ``icp run``, ``icp score``, the engines' pandas
path and the web app.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .icpfile import ICP
from .scoring.scorer import ScoreResult, score_accounts
from .timing import route_by_triggers, score_timing


def score_with_timing(
    icp: ICP,
    accounts: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    fitted: ScoreResult | None = None,
) -> ScoreResult:
    """Fit score (``score``), plus ``fit``, ``timing``, ``priority``, ``why_now`` and
    ``route_note`` when the ICP has triggers.

    The route is the fit route, raised where a ``timing.route_rules`` rule of the
    ICP applies (``route_note`` says from what and why).

    ``fitted``: these accounts already scored with ``icp`` (the build scores them), reused.
    """
    res = (
        replace(fitted, warnings=list(fitted.warnings))
        if fitted is not None
        else score_accounts(icp, accounts)
    )
    if icp.timing and icp.timing.triggers:
        if events is None:
            res.warnings.append(
                "the ICP has timing triggers but no events were given (--events): timing is 0"
            )
        t = score_timing(
            icp.timing,  # type: ignore[arg-type]
            accounts.reset_index(drop=True),
            events,
            res.frame["score"].to_numpy(),
            as_of=as_of,
        )
        route, notes = route_by_triggers(
            [r.model_dump() for r in icp.timing.route_rules],
            res.frame["route"].to_numpy(),
            res.frame["tier"].to_numpy(),
            t["fit"].to_numpy(),
            t["trigger_tier"].to_numpy(),
        )
        res.frame = res.frame.assign(route=route)
        t["route_note"] = notes
        front = res.frame[["account_id", "score", "tier", "route", "reasons"]]
        rest = res.frame.drop(columns=front.columns)
        cols = ["fit", "timing", "priority", "why_now", "route_note"]
        res.frame = pd.concat([front, t[cols], rest], axis=1)
    return res
