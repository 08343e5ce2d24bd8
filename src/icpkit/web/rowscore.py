"""Scoring for the HTTP API: the same numbers as ``icp score``, fast for one account.

``score_records(icp, records)`` is the API's scoring path. It turns JSON
records into the text cells a CSV would hold, runs them through the same
canonicalisation as ``icp score`` (``ingest.canonical.canonicalize``) and the
reference scorer (``scoring.scorer.score_accounts``).

For a single account that path costs tens of milliseconds of pandas overhead,
so :class:`RowScorer` evaluates the scorecard on one plain dict instead,
following the reference scorer's documented semantics and reading cells by
the same rules (:mod:`icpkit.scoring.clean`). It only takes inputs
whose canonical form is unambiguous (numbers in number columns, lists or
plain text for lists, plain text elsewhere) and returns ``None`` otherwise,
so that anything unusual goes through the reference path. A property test
checks that both give identical results.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, InputErrors
from ..icpfile import ICP, Condition
from ..ingest.canonical import _FALSE, _TRUE, canonicalize, map_columns
from ..schema import INT, LIST, NUM, STR, TABLES, ColumnMapping, normalize_name
from ..scoring import clean
from ..scoring.scorer import MAX_REASONS, list_attributes, number_attributes, score_accounts

SOURCE = "request"
_CANONICAL = {c.name: c for c in TABLES["market"].columns}


def raw_cell(value: Any, where: str) -> Any:
    """A JSON value as the text cell a CSV reader would give (lists stay lists)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return str(value)
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (list, tuple)):
        items = [raw_cell(v, where) for v in value]
        return [v for v in items if v is not None]
    raise InputError(
        "nested objects are not supported as attribute values",
        file=SOURCE,
        column=where,
        hint="Send a number, text, true/false, null or a list of text",
    )


def raw_records(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise InputError("each account must be a JSON object", file=SOURCE, row=i + 2)
        out.append({str(k): raw_cell(v, str(k)) for k, v in rec.items()})
    return out


@lru_cache(maxsize=256)
def column_names(keys: tuple[str, ...]) -> tuple[str, ...] | None:
    """Canonical names for input keys (as ``icp score`` maps headers); None on a clash."""
    df, _ = map_columns(pd.DataFrame(columns=list(keys)), TABLES["market"], ColumnMapping(), SOURCE)
    names = tuple(str(c) for c in df.columns)
    return names if len(set(names)) == len(names) else None


def _with_ids(raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give accounts without an id one: the company name (as ``icp score`` does), else 1..n."""
    keys: set[str] = set()
    for r in raws:
        keys.update(r)
    ordered = tuple(sorted(keys))
    names = column_names(ordered)
    if names is not None and "account_id" in names:
        return raws
    if names is None and any(normalize_name(k) == "account_id" for k in keys):
        return raws
    if names is not None and "name" in names:
        key = ordered[names.index("name")]
        return [{**r, "account_id": r.get(key)} for r in raws]
    return [{**r, "account_id": str(i + 1)} for i, r in enumerate(raws)]


def score_records(icp: ICP, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Score JSON records exactly as ``icp score`` scores the same rows from a CSV file."""
    raws = _with_ids(raw_records(records))
    frame = pd.DataFrame(raws, dtype=object)
    if column_names(tuple(str(c) for c in frame.columns)) is None:
        raise InputError(
            "two attribute names map to the same column",
            file=SOURCE,
            hint=f"Rename one of them; the names given were {', '.join(map(str, frame.columns))}",
        )
    frame = frame.astype(object).where(frame.notna(), None)
    df, _warnings, errors, _kinds = canonicalize("market", frame, SOURCE)
    if errors:
        raise InputErrors(errors)
    return score_accounts(icp, df).frame


# -- the one-account path ---------------------------------------------------------


class _Fallback(Exception):
    """The input needs the reference path."""


def _canonical_value(name: str, raw: Any) -> Any:
    """The value ``canonicalize`` would store for one cell of a one-row frame."""
    spec = _CANONICAL.get(name)
    if raw is None:
        return None
    if spec is None:  # a custom column: its kind is inferred from this one value
        if not isinstance(raw, str):
            raise _Fallback
        if any(ch.isdigit() for ch in raw) or raw.strip().lower() in _TRUE | _FALSE:
            raise _Fallback
        if clean.is_null(raw) or clean.parse_number(raw)[1]:  # the column is read as text
            return raw.strip()
        raise _Fallback
    if spec.kind in (NUM, INT):
        if not isinstance(raw, str):
            raise _Fallback
        x, bad = clean.parse_number(raw)
        if bad:  # the reference path reports it
            raise _Fallback
        return None if math.isnan(x) else x
    if spec.kind == LIST:
        if not isinstance(raw, list) and clean.is_null(raw):
            return None
        return sorted(set(clean.split_items(raw)))
    if spec.kind == STR and isinstance(raw, str):
        return raw.strip()
    raise _Fallback


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, list):
        return None
    if isinstance(v, float):
        return clean.number_text(v)
    s = str(v).strip().lower()
    return s or None


def _no_items(v: Any) -> bool:
    return clean.is_null(v) or not clean.split_items(v)


def compile_condition(c: Condition, numeric: bool = False, listy: bool = False) -> Any:
    """``c`` as a function of one canonical value, with the reference scorer's semantics.

    ``numeric``: a number attribute; ``listy``: a list attribute (see the scorer).
    """
    op = c.op
    is_missing: Any
    if numeric:

        def is_missing(v: Any) -> bool:
            return math.isnan(clean.number(v))

        def text(v: Any) -> str | None:
            return clean.number_text(clean.number(v))
    else:
        is_missing, text = (_no_items if listy else clean.is_null), _text
    if op == "missing":
        want = bool(c.missing)
        return lambda v: is_missing(v) == want
    if op == "other":
        return lambda v: not is_missing(v)
    if op in ("in", "not_in"):
        vals = frozenset(str(x).strip().lower() for x in (c.in_ if op == "in" else c.not_in) or [])
        if op == "in":
            return lambda v: text(v) in vals and not is_missing(v)
        return lambda v: text(v) not in vals and not is_missing(v)
    if op == "between":
        lo, hi = c.between or (None, None)

        def between(v: Any) -> bool:
            x = clean.number(v)
            if math.isnan(x):
                return False
            return (lo is None or x >= lo) and (hi is None or x < hi)

        return between
    item = str(c.has if op == "has" else c.lacks).strip().lower()
    if op == "has":
        return lambda v: item in clean.split_items(v) and not is_missing(v)
    return lambda v: item not in clean.split_items(v) and not is_missing(v)


def _fmt(p: int) -> str:
    return f"+{p}" if p > 0 else str(p)


class RowScorer:
    """Score one account dict with an ICP, or return None when it needs the reference path."""

    def __init__(self, icp: ICP) -> None:
        self.icp = icp
        numeric, lists = number_attributes(icp), list_attributes(icp)

        def compiled(c: Condition) -> Any:
            return compile_condition(c, c.attribute in numeric, c.attribute in lists)

        self.point_names = []
        for feat in icp.scorecard.features:
            name = (
                f"points_{feat.attribute}"
                if feat.kind != "flag"
                else f"points_{feat.attribute}_{feat.bins[0].has or feat.bins[0].lacks}"
            )
            self.point_names.append(normalize_name(name))
        self.features = [
            (f.attribute, [(compiled(b), b.points, b.text()) for b in f.bins])
            for f in icp.scorecard.features
        ]
        self.vetoes = [
            (
                d.attribute,
                compiled(d),
                f"VETO {d.text()}" + (f" ({d.reason})" if d.reason else ""),
            )
            for d in icp.disqualifiers
            if d.enabled
        ]
        defs = icp.tier_definitions()
        self.tiers = [
            (
                str(t.tier),
                t.min_score,
                [(c.attribute, compiled(c)) for c in t.pinned()],
                None
                if t.tier not in defs
                else [[(c.attribute, compiled(c)) for c in d] for d in defs[t.tier]],
            )
            for t in sorted(icp.tiers, key=lambda t: t.tier)
        ]
        names = {"account_id"} | set(icp.used_attributes())
        names |= {c.name for c in TABLES["market"].columns if c.kind in (NUM, INT)}
        self.needed = frozenset(names)

    def canonical(self, record: Mapping[str, Any]) -> dict[str, Any]:
        raw = {str(k): raw_cell(v, str(k)) for k, v in record.items()}
        names = column_names(tuple(raw))
        if names is None:
            raise _Fallback
        values = dict(zip(names, raw.values(), strict=True))
        if "account_id" not in values:
            values["account_id"] = values.get("name", "1")
        if values["account_id"] is None or isinstance(values["account_id"], list):
            raise _Fallback
        return {k: _canonical_value(k, v) for k, v in values.items() if k in self.needed}

    def score(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return self._score(self.canonical(record))
        except _Fallback:
            return None

    def _score(self, row: dict[str, Any]) -> dict[str, Any]:
        icp = self.icp
        total = float(icp.scorecard.base)
        pts: list[int] = []
        lbl: list[str] = []
        for attr, bins in self.features:
            v = row.get(attr)
            p, label = 0, ""
            for holds, points, text in bins if attr in row else ():  # absent: neutral
                if holds(v):
                    p, label = points, text
                    break
            total += p
            pts.append(p)
            lbl.append(label)
        score = int(np.clip(np.rint(total), 0, 100))
        veto = ""
        for attr, holds, text in self.vetoes:
            if attr in row and holds(row[attr]):
                veto = text
                break
        if veto:
            score = min(score, icp.veto_score)
        tier = "none"
        for name, min_score, pinned, definitions in self.tiers:
            if (
                score >= min_score
                and all(a in row and holds(row[a]) for a, holds in pinned)
                and (
                    definitions is None
                    or any(all(a in row and holds(row[a]) for a, holds in d) for d in definitions)
                )
            ):
                tier = name
                break
        r = icp.routing
        route = (
            "high_touch"
            if score >= r.high_touch
            else "nurture"
            if score >= r.nurture
            else "deprioritize"
        )
        if veto:
            tier, route = "excluded", "deprioritize"
        order = sorted((j for j in range(len(pts)) if pts[j] != 0), key=lambda j: (-abs(pts[j]), j))
        parts = [f"{lbl[j]} {_fmt(pts[j])}" for j in order[:MAX_REASONS]]
        if veto:
            parts.insert(0, veto)
        out: dict[str, Any] = {
            "account_id": str(row["account_id"]),
            "score": score,
            "tier": tier,
            "route": route,
            "reasons": "; ".join(parts),
        }
        for name, p in zip(self.point_names, pts, strict=True):
            out[name] = p
        return out


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Scored rows as plain JSON-ready dicts."""
    recs = json.loads(frame.to_json(orient="records", force_ascii=False))
    return [dict(r) for r in recs]
