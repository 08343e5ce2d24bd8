"""Turn a raw string frame into a canonical table: map headers, coerce types,
and collect every problem with its file, row and column."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import (
    BOOL,
    DATE,
    INT,
    LIST,
    LOST_LABELS,
    NUM,
    OPEN_LABELS,
    TABLES,
    WON_LABELS,
    ColumnMapping,
    Table,
    normalize_name,
)
from ..scoring import clean

MAX_REPORTED = 5
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _line(idx: int) -> int:
    """Frame position -> file line number (header is line 1)."""
    return int(idx) + 2


def map_columns(
    df: pd.DataFrame, table: Table, mapping: ColumnMapping, file: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename source headers to canonical names. Returns the frame and {canonical: source}."""
    rename: dict[str, str] = {}
    used_sources: set[str] = set()
    # explicit mapping first
    for src, dst in mapping.columns.items():
        match = [c for c in df.columns if c == src or normalize_name(c) == normalize_name(src)]
        if not match:
            raise InputError(
                f"the mapping file names column '{src}', which the file does not have",
                file=file,
                row=1,
                column=src,
                hint=f"Columns present: {', '.join(map(str, df.columns))}",
            )
        rename[match[0]] = dst
        used_sources.add(match[0])
    taken = set(rename.values())
    norm = {c: normalize_name(c) for c in df.columns if c not in used_sources}
    for col in table.columns:
        if col.name in taken:
            continue
        for alias in col.aliases:
            hits = [c for c, n in norm.items() if n == alias and c not in rename]
            if hits:
                rename[hits[0]] = col.name
                taken.add(col.name)
                break
    out = df.rename(columns=rename)
    # non-canonical columns keep a normalised name, so attributes read well
    canonical_names = {c.name for c in table.columns}
    extra = {c: normalize_name(c) for c in out.columns if c not in canonical_names}
    clash = {v for v in extra.values() if v in canonical_names or list(extra.values()).count(v) > 1}
    extra = {k: (v if v not in clash else f"{v}_src") for k, v in extra.items()}
    out = out.rename(columns=extra)
    return out, {v: k for k, v in rename.items()}


# words that say what kind of value a header holds, not what it is about
_GENERIC_WORDS = {"id", "ids", "name", "date", "of", "the", "number", "primary", "associated"}


def plausible_columns(target: str, aliases: tuple[str, ...], headers: list[str]) -> list[str]:
    """Headers that could be meant for canonical column ``target``: spelled almost like one
    of its accepted names, or sharing a meaningful word with one (``Acct Number`` is not
    offered for ``account_id``, ``Account Ref`` is; ``Amount`` never is).

    >>> plausible_columns("account_id", ("account_id", "company_id"), ["Amount", "Stage", "Acount Id"])
    ['Acount Id']
    >>> plausible_columns("account_id", ("account_id", "company_id"), ["Company Ref", "Amount"])
    ['Company Ref']
    """
    names = (target, *aliases)
    words = {w for n in names for w in n.split("_") if w and w not in _GENERIC_WORDS}
    scored: list[tuple[float, str]] = []
    for h in headers:
        n = normalize_name(h)
        if not n:
            continue
        ratio = max(difflib.SequenceMatcher(None, n, a).ratio() for a in names)
        shared = {w for w in n.split("_") if w} & words
        if ratio >= 0.85 or shared:
            scored.append((ratio + len(shared), h))
    return [h for _, h in sorted(scored, key=lambda x: -x[0])[:3]]


def _missing_required(df: pd.DataFrame, table: Table, file: str) -> None:
    missing = [c for c in table.required if c not in df.columns]
    # Salesforce exports may carry IsWon/IsClosed instead of a stage
    if "outcome" in missing and "iswon" in df.columns:
        missing.remove("outcome")
    if not missing:
        return
    col = table.column(missing[0])
    headers = df.attrs.get("source_headers_list") or [str(c) for c in df.columns]
    suggestions = plausible_columns(missing[0], col.aliases, [str(h) for h in headers])
    hint = (
        f"Accepted names for it: {', '.join(col.aliases[:6])}. "
        + (f"Did you mean {' or '.join(repr(s) for s in suggestions)}? " if suggestions else "")
        + f"Columns present: {', '.join(map(str, headers[:15]))}. "
        + "Map it with a mapping file: `--mapping mapping.yaml` containing "
        + f'`{table.name}: {{columns: {{"Your Header": {missing[0]}}}}}`'
    )
    raise InputError(
        f"required column '{missing[0]}' is missing", file=file, row=1, column=missing[0], hint=hint
    )


def _report(
    bad: pd.Series,
    raw: pd.Series,
    what: str,
    file: str,
    column: str,
    errors: list[InputError],
    hint: str,
) -> None:
    """Add one error for the rows in ``bad``, with the first few as examples."""
    if not bad.any():
        return
    idx = bad[bad].index[:MAX_REPORTED]
    examples = ", ".join(f"row {_line(i)}: {raw[i]!r}" for i in idx)
    errors.append(
        InputError(
            f"{int(bad.sum())} {what} ({examples})",
            file=file,
            row=_line(idx[0]),
            column=column,
            hint=hint,
        )
    )


def coerce_numeric(
    series: pd.Series, file: str, column: str, errors: list[InputError]
) -> pd.Series:
    """Numbers by the scoring rules (``icpkit.scoring.clean``): ``"$5,850,000.00"`` is
    5850000, ``"n/a"`` is unknown, ``"abc"`` is an error."""
    raw = series.astype(object)
    values, bad = clean.parse_numbers(raw)
    num = pd.Series(values, index=raw.index, dtype=float)
    _report(
        pd.Series(bad, index=raw.index),
        raw,
        "value(s) are not numbers",
        file,
        column,
        errors,
        "Remove text from the column or leave the cell empty for unknown",
    )
    return num


def coerce_date(
    series: pd.Series,
    file: str,
    column: str,
    errors: list[InputError],
    *,
    allow_future: bool = False,
    future_mask: pd.Series | None = None,
) -> pd.Series:
    raw = series.astype(object)
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed", utc=True)
    _report(
        raw.notna() & parsed.isna(),
        raw,
        "date(s) could not be parsed",
        file,
        column,
        errors,
        "Use ISO dates such as 2024-03-31",
    )
    parsed = parsed.dt.tz_convert(None).dt.tz_localize(None) if parsed.dt.tz is not None else parsed
    if not allow_future:
        limit = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1))
        fut = parsed > limit
        if future_mask is not None:
            fut &= future_mask
        _report(
            fut.fillna(False),
            raw,
            "date(s) are in the future",
            file,
            column,
            errors,
            "Fix the dates, or mark the deal as open if it has not closed yet",
        )
    return parsed.astype("datetime64[us]")


def coerce_bool(series: pd.Series, file: str, column: str, errors: list[InputError]) -> pd.Series:
    def conv(v: object) -> object:
        if v is None:
            return None
        s = str(v).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        return "?"

    out = series.map(conv)
    bad = out == "?"
    if bad.any():
        idx = bad[bad].index[:MAX_REPORTED]
        examples = ", ".join(f"row {_line(i)}: {series[i]!r}" for i in idx)
        errors.append(
            InputError(
                f"{int(bad.sum())} value(s) are not true/false ({examples})",
                file=file,
                row=_line(idx[0]),
                column=column,
            )
        )
        out[bad] = None
    return out.astype("boolean")


def split_list(series: pd.Series, separator: str | None = None) -> pd.Series:
    def conv(v: object) -> list[str] | None:
        if v is None or (isinstance(v, str) and clean.is_null(v)):
            return None
        if isinstance(v, (list, tuple, np.ndarray)):
            return sorted({str(x).strip().lower() for x in v if str(x).strip()})
        s = str(v)
        sep = separator or ("|" if "|" in s else ";" if ";" in s else ",")
        return sorted({p.strip().lower() for p in s.split(sep) if p.strip()})

    return series.map(conv)


def looks_like_list(series: pd.Series) -> bool:
    """A text column whose values are ';' or '|' separated items."""
    vals = series.dropna().astype(str)
    if len(vals) < 5:
        return False
    has_sep = vals.str.contains(r"[;|]", regex=True)
    return bool(has_sep.mean() > 0.3)


def parse_outcomes(
    series: pd.Series, file: str, column: str, mapping: ColumnMapping, errors: list[InputError]
) -> pd.Series:
    custom = {normalize_name(k): v for k, v in mapping.outcomes.items()}

    def conv(v: object) -> str | None:
        if v is None:
            return None
        n = normalize_name(str(v))
        if n in custom:
            return custom[n]
        if n in WON_LABELS or n.endswith("_won") or n.startswith("won_"):
            return "won"
        if n in LOST_LABELS or n.endswith("_lost") or n.startswith("lost_"):
            return "lost"
        if n in OPEN_LABELS:
            return "open"
        return "?"

    out = series.map(conv)
    bad = out == "?"
    if bad.any():
        labels = sorted({str(series[i]) for i in bad[bad].index})[:10]
        first = bad[bad].index[0]
        errors.append(
            InputError(
                f"{int(bad.sum())} deal(s) have outcome labels icpkit does not know: {labels}",
                file=file,
                row=_line(first),
                column=column,
                hint='Say what they mean in a mapping file, e.g. `deals: {outcomes: {"Contract Signed": won, "No Decision": lost}}`',
            )
        )
    missing = out.isna()
    if missing.any():
        errors.append(
            InputError(
                f"{int(missing.sum())} deal(s) have no outcome",
                file=file,
                row=_line(missing[missing].index[0]),
                column=column,
                hint="Every deal needs won, lost or open",
            )
        )
    return out


def canonicalize(
    name: str,
    raw: pd.DataFrame,
    file: str,
    mapping: ColumnMapping | None = None,
) -> tuple[pd.DataFrame, list[str], list[InputError], dict[str, str]]:
    """Map and coerce one raw frame to the canonical table ``name``.

    Returns (frame, warnings, errors, attribute_kinds) where attribute_kinds
    records each kept column's kind (num/str/list/date/bool).
    """
    table = TABLES[name]
    mapping = mapping or ColumnMapping()
    errors: list[InputError] = []
    raw = raw.astype(object).where(raw.notna(), None)
    df, sources = map_columns(raw, table, mapping, file)
    headers = {str(c): str(h) for h, c in zip(raw.columns, df.columns, strict=True)}
    pre_warnings: list[str] = []
    df.attrs["source_headers_list"] = [str(h) for h in raw.columns]
    if name in ("market", "accounts") and "account_id" not in df.columns and "name" in df.columns:
        # a list of named companies (a market list, a CRM report without ids): the name is the id
        df["account_id"] = df["name"]
        sources["account_id"] = sources.get("name", "name")
        pre_warnings.append(f"{file}: no id column; the company name is used as the account id")
    _missing_required(df, table, file)
    if name in ("accounts", "market", "contacts"):
        df = _drop_owner_columns(df, headers, mapping, file, pre_warnings)
    if name not in ("accounts", "market") and "account_id" in df.columns:
        df["account_id"] = _first_association(
            df["account_id"], file, src_of(sources, "account_id"), pre_warnings
        )
    dropped = [normalize_name(c) for c in mapping.exclude]
    df = df.drop(columns=[c for c in df.columns if c in dropped])
    df = df.reset_index(drop=True)
    warnings: list[str] = pre_warnings
    kinds: dict[str, str] = {}
    canonical = {c.name: c for c in table.columns}

    def src(c: str) -> str:
        return sources.get(c, c)

    if name == "deals":
        if "outcome" not in df.columns and "iswon" in df.columns:
            won = coerce_bool(df["iswon"], file, src("iswon"), errors)
            closed = (
                coerce_bool(df["isclosed"], file, "IsClosed", errors)
                if "isclosed" in df.columns
                else won.notna()
            )
            df["outcome"] = np.where(
                won.fillna(False), "won", np.where(closed.fillna(False), "lost", "open")
            )
        else:
            out = parse_outcomes(df["outcome"], file, src("outcome"), mapping, errors)
            if "iswon" in df.columns and "isclosed" in df.columns:
                won = coerce_bool(df["iswon"], file, "IsWon", errors)
                closed = coerce_bool(df["isclosed"], file, "IsClosed", errors)
                fix = out == "?"
                out[fix & won.fillna(False)] = "won"
                out[fix & ~won.fillna(False) & closed.fillna(False)] = "lost"
            df["outcome"] = out
        if "deal_id" not in df.columns:
            df["deal_id"] = [f"D{i + 1}" for i in range(len(df))]
            warnings.append(f"{file}: no deal id column; deals are numbered by row")
        for c in ("iswon", "isclosed"):
            if c in df.columns:
                df = df.drop(columns=c)

    for col in df.columns:
        spec = canonical.get(col)
        kind = spec.kind if spec else None
        if col in mapping.list_columns:
            kind = LIST
        if kind is None:
            kind = _infer_kind(df[col])
        if col in ("outcome",) and name == "deals":
            kinds[col] = "str"
            continue
        if kind == NUM or kind == INT:
            df[col] = coerce_numeric(df[col], file, src(col), errors)
        elif kind == DATE:
            future_mask = None
            # events may be scheduled ahead (a renewal, a contract end): upcoming triggers
            allow = name == "events" and col == "occurred_at"
            if name == "deals" and col == "closed_at":
                future_mask = df["outcome"].isin(["won", "lost"])
            df[col] = coerce_date(
                df[col], file, src(col), errors, allow_future=allow, future_mask=future_mask
            )
        elif kind == BOOL:
            df[col] = coerce_bool(df[col], file, src(col), errors)
        elif kind == LIST:
            df[col] = split_list(df[col], mapping.list_separator)
        else:
            df[col] = df[col].map(lambda v: None if v is None else str(v).strip())
        kinds[col] = kind
    # keys: present, unique
    key = table.key
    if key and key in df.columns:
        empty = df[key].isna()
        if empty.any():
            if name in ("deals", "accounts", "market"):
                errors.append(
                    InputError(
                        f"{int(empty.sum())} row(s) have an empty id",
                        file=file,
                        row=_line(empty[empty].index[0]),
                        column=src(key),
                    )
                )
        dup = df[key].notna() & df[key].duplicated(keep=False)
        if dup.any():
            first_dups = df.loc[dup, key].drop_duplicates().head(MAX_REPORTED).tolist()
            idx = dup[dup].index
            errors.append(
                InputError(
                    f"{int(df.loc[dup, key].nunique())} id(s) appear more than once, e.g. {first_dups} (rows {', '.join(str(_line(i)) for i in idx[:MAX_REPORTED])})",
                    file=file,
                    row=_line(idx[0]),
                    column=src(key),
                    hint="Each id must be unique: remove the duplicates or merge them",
                )
            )
    if "account_id" in df.columns and name != "accounts" and name != "market":
        empty = df["account_id"].isna()
        if empty.any():
            n = int(empty.sum())
            if name == "deals":
                open_only = df.loc[empty, "outcome"].eq("open").all()
                if not open_only:
                    errors.append(
                        InputError(
                            f"{int((empty & df['outcome'].ne('open')).sum())} closed deal(s) have no account",
                            file=file,
                            row=_line(empty[empty & df["outcome"].ne("open")].index[0]),
                            column=src("account_id"),
                            hint="Every won or lost deal must name its account",
                        )
                    )
            warnings.append(f"{file}: {n} row(s) without an account were skipped")
            df = df[~empty].reset_index(drop=True)
    if name == "deals" and "created_at" in df.columns and "closed_at" in df.columns:
        neg = (df["closed_at"] < df["created_at"]).fillna(False)
        if neg.any():
            warnings.append(
                f"{file}: {int(neg.sum())} deal(s) close before they were created (e.g. row {_line(neg[neg].index[0])}); their cycle length is ignored"
            )
    if name == "deals" and "amount" in df.columns:
        negamt = (df["amount"] < 0).fillna(False)
        if negamt.any():
            warnings.append(
                f"{file}: {int(negamt.sum())} deal(s) have a negative amount; treated as unknown"
            )
            df.loc[negamt, "amount"] = np.nan
    # the header each column was written with, for readable labels (see ``icpkit.labels``)
    df.attrs["source_headers"] = {c: h for c, h in headers.items() if c in df.columns}
    return df, warnings, errors, kinds


def src_of(sources: dict[str, str], column: str) -> str:
    return sources.get(column, column)


def is_owner_column(column: str) -> bool:
    """A header naming the record's owner (``Company owner``, ``Account Owner``, ``OwnerId``)."""
    words = normalize_name(column).split("_")
    return "owner" in words or "ownerid" in words


def _drop_owner_columns(
    df: pd.DataFrame,
    headers: dict[str, str],
    mapping: ColumnMapping,
    file: str,
    warnings: list[str],
) -> pd.DataFrame:
    """Leave out the columns naming who owns the record: the sales rep is not a company trait."""
    canonical = {"account_id", "name", "contact_id", "deal_id"}
    mapped = {normalize_name(v) for v in mapping.columns.values()}
    drop = [
        c
        for c in df.columns
        if c not in canonical
        and c not in mapped
        and c not in mapping.keep
        and is_owner_column(headers.get(str(c), str(c)))
    ]
    if drop:
        names = ", ".join(repr(headers.get(str(c), str(c))) for c in drop)
        warnings.append(
            f"{file}: left out {names}: who owns the record is not a trait of the company "
            "(learn from it anyway with `keep:` in the mapping file)"
        )
    return df.drop(columns=drop)


def _first_association(series: pd.Series, file: str, column: str, warnings: list[str]) -> pd.Series:
    """HubSpot's association lists (``"1234;5678"``): the first (primary) id of each cell."""
    text = series.map(lambda v: None if v is None else str(v))
    several = text.str.contains(";", regex=False).fillna(False).astype(bool)
    if not several.any():
        return series
    warnings.append(
        f"{file}: {int(several.sum())} row(s) of '{column}' name several companies "
        f"(e.g. row {_line(several[several].index[0])}: {text[several].iloc[0]!r}); "
        "the first is used"
    )
    first = text.str.split(";").str[0].str.strip()
    return series.where(~several, first)


def _infer_kind(series: pd.Series) -> str:
    vals = series.dropna()
    if len(vals) == 0:
        return "str"
    if isinstance(vals.iloc[0], (list, tuple, np.ndarray)):
        return LIST
    s = vals.astype(str)
    num = clean.numbers(s)
    if np.mean(~np.isnan(num)) >= 0.98:
        lowered = set(s.str.lower().unique())
        if lowered <= _TRUE | _FALSE and len(lowered) <= 2 and lowered <= {"0", "1", "0.0", "1.0"}:
            return BOOL
        return NUM
    lowered = set(s.str.strip().str.lower().unique())
    if lowered and lowered <= (_TRUE | _FALSE):
        return BOOL
    if looks_like_list(series):
        return LIST
    # dates in custom columns stay text: they are not attributes
    return "str"
