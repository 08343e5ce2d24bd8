"""A founder's ICP, written by hand, tested against the closed deals.

``icp init`` writes :data:`TEMPLATE`: the ICP in the template's own words and
fields (entity, firmographic / technographic / behavioral criteria, trigger,
disqualifiers, persona). ``icp validate --icp hypothesis.yaml`` reads it with
:func:`load` and :func:`test` scores it: the in/out win-rate ratio, coverage of
the won deals, and for each stated criterion whether the deals support it,
contradict it or cannot judge it — each with the deals it rests on.

A criterion is **supported** when the deals it picks out win significantly more
often than the others (two-sided Fisher test, false discovery rate 5% over the
stated criteria); **contradicted** when the deals rule out even a modest
advantage (the upper end of the 95% interval of its win-rate ratio is below
1.25, the Tier 3 bar) or show a significant disadvantage; otherwise the deals
**cannot judge** it (too few deals, or no such column). Disqualifiers mirror
this: supported when their deals lose significantly more often, contradicted
when the interval rules out a loss rate notably worse than average (ratio above
0.8). Deals of one account are counted as separate deals here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import stats

from .errors import IcpFileError
from .icpfile import Condition
from .labels import label, trigger_words
from .mining.stats import Z95, bh
from .scoring.scorer import Columns, evaluate

FAMILIES = ("firmographic", "technographic", "behavioral")
MIN_DEALS = 30
SUPPORT_BAR = 1.25  # a criterion must be able to reach the Tier 3 bar
DISQ_BAR = 0.8
ALPHA = 0.05

TEMPLATE = """\
# hypothesis.yaml: your ICP as you believe it today, before the data has spoken.
# Write it in your own words, then test it on your closed deals:
#   icp validate --icp hypothesis.yaml --accounts accounts.csv --deals deals.csv --out test
# Each criterion names one column of your accounts file and what it must hold:
#   industry: [logistics, manufacturing]    one of these values
#   country: US                             this value
#   employees: {between: [200, 2000]}       from 200 up to (not including) 2000
#   annual_revenue: {at_least: 10000000}    or {below: 1000000}
#   tech_stack: {has: snowflake}            a list column holding this item ({lacks: ...} for not)
#   industry: {not_in: [government]}        none of these values
# Delete what you do not believe; add what you do.

entity: <<entity>>

firmographic:
<<firmographic>>

technographic:
<<technographic>>

behavioral:
<<behavioral>>

# The event that makes a fit company ready to buy, and how recent it must be
# (an event type from your events file).
trigger: {type: <<trigger>>, within_days: 90}

# Who you do not sell to, whatever else is true.
disqualifiers:
<<disqualifiers>>

# The person who champions the purchase.
persona:
  role: champion
  titles: [Head of Operations, VP Operations]
  cares_about: [<<pain>>]
"""

EXAMPLE = {
    "entity": "B2B companies that run operations on spreadsheets",
    "firmographic": "  - industry: [logistics, manufacturing]\n  - employees: {between: [200, 2000]}",
    "technographic": "  - tech_stack: {has: snowflake}",
    "behavioral": "  - current_solution: [spreadsheets]",
    "trigger": "funding_round",
    "disqualifiers": "  - industry: [government]\n  - employees: {below: 20}",
    "pain": "manual spreadsheet reconciliation",
}


def template(columns: dict[str, list[str]] | None = None) -> str:
    """The hand-editable hypothesis; with ``columns`` (column -> a few values), a comment lists them."""
    text = TEMPLATE
    for key, value in EXAMPLE.items():
        text = text.replace(f"<<{key}>>", value)
    if columns:
        lines = ["", "# Columns in your accounts data (with a few of their values):"]
        for col, vals in columns.items():
            shown = ", ".join(str(v) for v in vals[:5])
            lines.append(f"#   {col}: {shown}")
        text += "\n".join(lines) + "\n"
    return text


def column_values(col: pd.Series) -> list[str]:
    """A few typical values of a column for the template's comment: a range, or the commonest."""
    from .icpfile import fmt_number

    v = col.dropna()
    if not len(v):
        return ["(empty)"]
    if pd.api.types.is_numeric_dtype(v):
        x = v.astype(float)
        return [f"{fmt_number(float(x.min()))} to {fmt_number(float(x.max()))} "
                f"(median {fmt_number(float(x.median()))})"]  # fmt: skip
    if v.map(lambda c: isinstance(c, (list, tuple, np.ndarray))).all():
        v = v.explode().dropna()
    return [str(x) for x in v.astype(str).value_counts().index[:5]]


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = "champion"
    titles: list[str] = Field(default_factory=list)
    cares_about: list[str] = Field(default_factory=list)


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    within_days: int = Field(default=90, gt=0)


class Hypothesis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str = ""
    firmographic: list[dict[str, Any]] = Field(default_factory=list)
    technographic: list[dict[str, Any]] = Field(default_factory=list)
    behavioral: list[dict[str, Any]] = Field(default_factory=list)
    trigger: Trigger | None = None
    disqualifiers: list[dict[str, Any]] = Field(default_factory=list)
    persona: Persona | None = None


def condition(spec: dict[str, Any], where: str) -> Condition:
    """One criterion as written (``{industry: [a, b]}``) as an ICP condition."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise IcpFileError(f"{where}: a criterion is one 'column: value' pair, got {spec!r}")
    ((attr, value),) = spec.items()
    attr = str(attr).strip()
    try:
        if isinstance(value, list):
            return Condition.model_validate({"attribute": attr, "in": [str(v) for v in value]})
        if isinstance(value, dict):
            if len(value) != 1:
                raise ValueError(f"one operator per criterion, got {sorted(value)}")
            ((op, arg),) = value.items()
            if op == "between":
                lo, hi = arg
                return Condition(attribute=attr, between=(lo, hi))
            if op == "at_least":
                return Condition(attribute=attr, between=(float(arg), None))
            if op == "below":
                return Condition(attribute=attr, between=(None, float(arg)))
            if op in ("has", "lacks"):
                return Condition.model_validate({"attribute": attr, op: str(arg)})
            if op in ("in", "not_in"):
                vals = arg if isinstance(arg, list) else [arg]
                return Condition.model_validate({"attribute": attr, op: [str(v) for v in vals]})
            raise ValueError(
                f"unknown operator '{op}': use between, at_least, below, has, lacks, in or not_in"
            )
        return Condition.model_validate({"attribute": attr, "in": [str(value)]})
    except (ValueError, TypeError, ValidationError) as e:
        raise IcpFileError(f"{where} ({attr}): {e}") from None


def load(path: str | Path) -> Hypothesis:
    """Read a hypothesis file; a bad one raises IcpFileError naming the file and the field."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise IcpFileError(f"{p}: cannot read the hypothesis: {e}") from None
    if not isinstance(raw, dict):
        raise IcpFileError(f"{p}: the hypothesis must be a mapping of fields")
    try:
        hyp = Hypothesis.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise IcpFileError(f"{p}: field '{field}': {err['msg']}") from None
    for fam in (*FAMILIES, "disqualifiers"):
        for i, spec in enumerate(getattr(hyp, fam)):
            condition(spec, f"{p}: {fam}[{i}]")
    if not any(getattr(hyp, f) for f in FAMILIES):
        raise IcpFileError(f"{p}: the hypothesis states no criterion (firmographic, ...)")
    return hyp


@dataclass
class Judged:
    family: str
    criterion: str
    column: str
    n: int
    wins: int
    win_rate: float | None
    n_without: int
    rate_without: float | None
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    p_value: float | None
    verdict: str  # supported, contradicted, cannot judge
    why: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _ratio_ci(a: int, n1: int, b: int, n2: int) -> tuple[float, float, float] | None:
    """Win-rate ratio inside/outside with a 95% interval (log method, 0.5 added to empty cells)."""
    if n1 == 0 or n2 == 0:
        return None
    a_, b_ = a + 0.5 * (a == 0 or b == 0), b + 0.5 * (a == 0 or b == 0)
    n1_, n2_ = n1 + (a_ - a), n2 + (b_ - b)
    r = (a_ / n1_) / (b_ / n2_)
    se = math.sqrt(max(0.0, 1 / a_ - 1 / n1_ + 1 / b_ - 1 / n2_))
    return r, r * math.exp(-Z95 * se), r * math.exp(Z95 * se)


def _judge(
    family: str, text: str, column: str, mask: np.ndarray | None, won: np.ndarray, *, disq: bool
) -> Judged:
    if mask is None:
        return Judged(family, text, column, 0, 0, None, 0, None, None, None, None, None,
                      "cannot judge", f"no column '{column}' in the data")  # fmt: skip
    n, wins = int(mask.sum()), int(won[mask].sum())
    n2, wins2 = int((~mask).sum()), int(won[~mask].sum())
    rate = wins / n if n else None
    rate2 = wins2 / n2 if n2 else None
    rc = _ratio_ci(wins, n, wins2, n2)
    p = (
        float(stats.fisher_exact([[wins, n - wins], [wins2, n2 - wins2]]).pvalue)
        if n and n2
        else None
    )
    r, lo, hi = rc if rc else (None, None, None)
    j = Judged(family, text, column, n, wins, rate, n2, rate2, r, lo, hi, p, "cannot judge", "")
    if n < MIN_DEALS or n2 < MIN_DEALS:
        j.why = f"{n} deals match and {n2} do not: at least {MIN_DEALS} on each side are needed"
    return j


def _settle(items: list[Judged], disq_flags: list[bool]) -> None:
    """Verdicts for the judgeable items, the p-values corrected over all of them."""
    idx = [i for i, j in enumerate(items) if j.p_value is not None and not j.why]
    q = bh(np.array([items[i].p_value for i in idx])) if idx else np.array([])
    for k, i in enumerate(idx):
        j, disq = items[i], disq_flags[i]
        sig = float(q[k]) < ALPHA
        lo, hi = j.ratio_low or 0.0, j.ratio_high or 0.0
        better = (j.win_rate or 0) > (j.rate_without or 0)
        rate = f"{j.win_rate:.0%} won ({j.wins:,} of {j.n:,}) vs {j.rate_without:.0%} without"
        if not disq:
            if sig and better:
                j.verdict, j.why = "supported", f"{rate}: they win more often"
            elif (sig and not better) or hi < SUPPORT_BAR:
                j.verdict = "contradicted"
                j.why = f"{rate}: " + (
                    "they win less often"
                    if sig and not better
                    else f"the deals rule out winning even {SUPPORT_BAR}x as often"
                )
            else:
                j.why = f"{rate}: too uncertain to say"
        else:
            if sig and not better:
                j.verdict, j.why = "supported", f"{rate}: they lose more often"
            elif (sig and better) or lo > DISQ_BAR:
                j.verdict = "contradicted"
                j.why = f"{rate}: " + (
                    "they win more often than the rest"
                    if sig and better
                    else "they do not lose notably more often than the rest"
                )
            else:
                j.why = f"{rate}: too uncertain to say"


def _trigger_mask(
    trig: Trigger, deals: pd.DataFrame, events: pd.DataFrame | None
) -> np.ndarray | None:
    if events is None or "created_at" not in deals.columns or not len(events):
        return None
    ev = events[events["type"].astype(str).str.lower() == trig.type.lower()]
    d = deals[["account_id", "created_at"]].copy()
    d["_row"] = np.arange(len(d))
    d["created_at"] = pd.to_datetime(d["created_at"], errors="coerce")
    e = ev[["account_id", "occurred_at"]].copy()
    e["occurred_at"] = pd.to_datetime(e["occurred_at"], errors="coerce")
    m = d.merge(e, on="account_id", how="inner")
    gap = (m["created_at"] - m["occurred_at"]).dt.days
    hit = m.loc[(gap >= 0) & (gap <= trig.within_days), "_row"].unique()
    out = np.zeros(len(d), dtype=bool)
    out[hit.astype(int)] = True
    return out


def _closed(accounts: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    closed = deals[deals["outcome"].isin(["won", "lost"])]
    keep = [c for c in ("account_id", "outcome", "amount", "created_at") if c in closed.columns]
    acc = accounts.drop(columns=[c for c in keep if c != "account_id"], errors="ignore")
    acc = acc.drop_duplicates("account_id")
    return closed[keep].merge(acc, on="account_id", how="inner").reset_index(drop=True)


def test(
    hyp: Hypothesis,
    accounts: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    events: pd.DataFrame | None = None,
    learned: Any = None,
) -> dict[str, Any]:
    """Score the hypothesis on the closed deals; ``learned`` is the data-learned ICP to compare."""
    frame = _closed(accounts, deals)
    won = (frame["outcome"] == "won").to_numpy()
    specs: list[tuple[str, Condition, bool]] = []
    for fam in (*FAMILIES, "disqualifiers"):
        for i, spec in enumerate(getattr(hyp, fam)):
            specs.append((fam, condition(spec, f"{fam}[{i}]"), fam == "disqualifiers"))
    numeric = [c.attribute for _, c, _ in specs if c.op == "between"]
    lists = [c.attribute for _, c, _ in specs if c.op in ("has", "lacks")]
    cols = Columns(frame, numeric=numeric, lists=lists)
    items: list[Judged] = []
    masks: dict[int, np.ndarray] = {}
    for k, (fam, c, disq) in enumerate(specs):
        present = c.attribute in frame.columns
        m = evaluate(c, cols) if present else None
        if m is not None:
            masks[k] = m
        items.append(_judge(fam, label(c), c.attribute, m, won, disq=disq))
    flags = [d for _, _, d in specs]
    trig_item = None
    if hyp.trigger is not None:
        tm = _trigger_mask(hyp.trigger, frame, events)
        trig_item = _judge(
            "trigger",
            trigger_words(hyp.trigger.type, hyp.trigger.within_days),
            "events",
            tm,
            won,
            disq=False,
        )
        if tm is None:
            trig_item.why = "no events (account_id, occurred_at, type) to test it on"
        items.append(trig_item)
        flags.append(False)
    _settle(items, flags)
    # the hypothesis as a whole: all stated criteria that can be evaluated, and no disqualifier
    inside = np.ones(len(frame), dtype=bool)
    used = 0
    for k, (_fam, _c, disq) in enumerate(specs):
        if k in masks:
            inside &= ~masks[k] if disq else masks[k]
            used += 1
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    w_in, w_out = int(won[inside].sum()), int(won[~inside].sum())
    rc = _ratio_ci(w_in, n_in, w_out, n_out)
    whole = {
        "criteria_used": used,
        "in": {"n": n_in, "wins": w_in, "win_rate": w_in / n_in if n_in else None},
        "out": {"n": n_out, "wins": w_out, "win_rate": w_out / n_out if n_out else None},
        "ratio": rc[0] if rc else None,
        "ratio_low": rc[1] if rc else None,
        "ratio_high": rc[2] if rc else None,
        "coverage_wins": w_in / int(won.sum()) if won.sum() else None,
        "coverage_deals": n_in / len(frame) if len(frame) else None,
        "meets_3x": bool(rc and rc[0] >= 3.0),
    }
    result = {
        "entity": hyp.entity,
        "closed_deals": len(frame),
        "wins": int(won.sum()),
        "criteria": [j.as_dict() for j in items],
        "whole": whole,
        "persona": hyp.persona.model_dump() if hyp.persona else None,
        "learned": _learned(learned, frame, won) if learned is not None else None,
        "note": "In-sample: both ICPs are scored on the same closed deals; the learned one was "
        "fitted to them, so its figures flatter it. `icp validate` without --icp tests the learned "
        "ICP on later deals.",
    }
    return result


def _learned(icp: Any, frame: pd.DataFrame, won: np.ndarray) -> dict[str, Any]:
    from .scoring.scorer import score_accounts

    res = score_accounts(icp, frame.drop(columns=["outcome"]))
    tier = res.frame["tier"].astype(str).to_numpy()
    inside = np.isin(tier, ["1", "2", "3"])
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    w_in, w_out = int(won[inside].sum()), int(won[~inside].sum())
    rc = _ratio_ci(w_in, n_in, w_out, n_out)
    return {
        "statement": icp.statement.text,
        "entity": icp.statement.entity,
        "recognize": list(icp.statement.recognize),
        "exclude": list(icp.statement.exclude),
        "persona": icp.statement.persona,
        "in": {"n": n_in, "wins": w_in, "win_rate": w_in / n_in if n_in else None},
        "out": {"n": n_out, "wins": w_out, "win_rate": w_out / n_out if n_out else None},
        "ratio": rc[0] if rc else None,
        "coverage_wins": w_in / int(won.sum()) if won.sum() else None,
        "coverage_deals": n_in / len(frame) if len(frame) else None,
    }


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v:.0%}"


def _x(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}x"


def markdown(r: dict[str, Any]) -> str:
    """The test's result as Markdown (hypothesis.md)."""
    w = r["whole"]
    lines = [
        "# Your ICP hypothesis, tested on the closed deals",
        "",
        f"{r['closed_deals']:,} closed deals ({r['wins']:,} won). Hypothesis: {r['entity'] or '(no entity)'}",
        "",
        "## The hypothesis as a whole",
        "",
        f"Deals meeting every stated criterion and no disqualifier: {w['in']['n']:,}, "
        f"won {_pct(w['in']['win_rate'])} ({w['in']['wins']:,} of {w['in']['n']:,}); the rest won "
        f"{_pct(w['out']['win_rate'])} ({w['out']['wins']:,} of {w['out']['n']:,}). In/out ratio "
        f"{_x(w['ratio'])} (95% interval {_x(w['ratio_low'])}-{_x(w['ratio_high'])}), "
        f"{'meeting' if w['meets_3x'] else 'short of'} the 3x rule. Coverage: "
        f"{_pct(w['coverage_wins'])} of won deals, {_pct(w['coverage_deals'])} of closed deals.",
        "",
        "## Each stated criterion",
        "",
        "| family | criterion | verdict | n | win rate | without | ratio (95% interval) | why |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for c in r["criteria"]:
        ratio = (
            f"{_x(c['ratio'])} ({_x(c['ratio_low'])}-{_x(c['ratio_high'])})" if c["ratio"] else ""
        )
        lines.append(
            f"| {c['family']} | {c['criterion']} | **{c['verdict']}** | {c['n']:,} | "
            f"{_pct(c['win_rate'])} | {_pct(c['rate_without'])} | {ratio} | {c['why']} |"
        )
    lr = r.get("learned")
    if lr:
        lines += [
            "",
            "## Side by side with the ICP learned from the data",
            "",
            "| | your hypothesis | learned from the data |",
            "|---|---|---|",
            f"| who | {r['entity']} | {lr['entity']} |",
            f"| recognise by | {'; '.join(c['criterion'] for c in r['criteria'] if c['family'] in FAMILIES)} "
            f"| {'; '.join(lr['recognize'])} |",
            f"| exclude | {'; '.join(c['criterion'] for c in r['criteria'] if c['family'] == 'disqualifiers')} "
            f"| {'; '.join(lr['exclude'])} |",
            f"| deals inside | {w['in']['n']:,} | {lr['in']['n']:,} |",
            f"| win rate inside / outside | {_pct(w['in']['win_rate'])} / {_pct(w['out']['win_rate'])} "
            f"| {_pct(lr['in']['win_rate'])} / {_pct(lr['out']['win_rate'])} |",
            f"| in/out ratio | {_x(w['ratio'])} | {_x(lr['ratio'])} |",
            f"| share of won deals covered | {_pct(w['coverage_wins'])} | {_pct(lr['coverage_wins'])} |",
        ]
    lines += ["", r["note"], ""]
    return "\n".join(lines)
