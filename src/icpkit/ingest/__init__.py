"""Data assembly: read the user's files, map them to the canonical tables,
validate them, and store them in the workspace in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from ..errors import InputError, InputErrors
from ..schema import FAMILIES, KEEP_META_KEY, TABLES, ColumnMapping, normalize_name
from ..workspace import Workspace, file_sha256
from .canonical import canonicalize
from .read import read_frame

__all__ = ["IngestResult", "load_mapping", "read_table", "ingest", "infer_family", "DERIVED_TABLES"]

# tables computed from the canonical ones: dropped when inputs change
DERIVED_TABLES = ["health", "segments", "univariate", "scores", "features", "training"]

_FIRMO = {
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "founded_year",
    "funding_stage",
}
_HINTS = [
    (
        "technographic",
        (
            "tech",
            "stack",
            "cloud",
            "crm",
            "erp",
            "tool",
            "platform",
            "software",
            "uses_",
            "integration",
        ),
    ),
    (
        "trigger",
        (
            "event",
            "trigger",
            "funding_round",
            "hire",
            "newcomer",
            "rank_change",
            "recent_",
            "incident",
            "audit",
        ),
    ),
    (
        "dmu",
        (
            "persona",
            "champion",
            "buyer",
            "decision",
            "behaviour_profile",
            "behavior_profile",
            "contact_role",
        ),
    ),
    (
        "behavioral",
        (
            "plan",
            "usage",
            "seat",
            "trial",
            "source",
            "channel",
            "referral",
            "origin",
            "lead_type",
            "landing",
            "current_solution",
            "competitor",
            "buying",
            "behaviour",
            "behavior",
            "engagement",
            "visits",
            "intent",
            "billing",
        ),
    ),
]


def infer_family(column: str) -> str:
    """Guess the attribute family of a column from its name."""
    if column in _FIRMO:
        return "firmographic"
    if column == "tech_stack":
        return "technographic"
    low = column.lower()
    for family, words in _HINTS:
        if any(w in low for w in words):
            return family
    return "firmographic"


@dataclass
class IngestResult:
    tables: dict[str, int] = field(default_factory=dict)  # name -> rows
    warnings: list[str] = field(default_factory=list)
    unchanged: bool = False


def load_mapping(path: str | Path | None) -> dict[str, ColumnMapping]:
    """Read a mapping file (YAML). Each top-level key is a table name."""
    if path is None:
        return {}
    p = Path(path)
    if not p.exists():
        raise InputError("mapping file not found", file=str(p))
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"the mapping file is not valid YAML ({exc})", file=str(p)) from exc
    if not isinstance(data, dict):
        raise InputError("the mapping file must be a mapping of table names", file=str(p))
    out: dict[str, ColumnMapping] = {}
    allowed = {
        "columns",
        "families",
        "exclude",
        "outcomes",
        "list_separator",
        "list_columns",
        "keep",
    }
    for tbl, spec in data.items():
        if tbl not in TABLES:
            raise InputError(
                f"unknown table '{tbl}' in the mapping file",
                file=str(p),
                hint=f"Known tables: {', '.join(TABLES)}",
            )
        spec = spec or {}
        unknown = set(spec) - allowed
        if unknown:
            raise InputError(
                f"unknown key(s) {sorted(unknown)} under '{tbl}'",
                file=str(p),
                hint=f"Allowed: {', '.join(sorted(allowed))}",
            )
        fams = {normalize_name(k): v for k, v in (spec.get("families") or {}).items()}
        bad = {k: v for k, v in fams.items() if v not in FAMILIES}
        if bad:
            raise InputError(
                f"unknown family in {bad}", file=str(p), hint=f"Families: {', '.join(FAMILIES)}"
            )
        outcomes = {str(k): str(v) for k, v in (spec.get("outcomes") or {}).items()}
        badout = {k: v for k, v in outcomes.items() if v not in ("won", "lost", "open")}
        if badout:
            raise InputError(f"outcomes must map to won, lost or open; got {badout}", file=str(p))
        out[tbl] = ColumnMapping(
            columns={str(k): str(v) for k, v in (spec.get("columns") or {}).items()},
            families=fams,
            exclude=[str(x) for x in spec.get("exclude") or []],
            outcomes=outcomes,
            list_separator=spec.get("list_separator"),
            list_columns=[normalize_name(x) for x in spec.get("list_columns") or []],
            keep=[normalize_name(x) for x in spec.get("keep") or []],
        )
    return out


def read_table(
    name: str,
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Read and validate one file as canonical table ``name``.

    Raises InputErrors with every problem found. Returns (frame, kinds, warnings).
    """
    raw, warnings = read_frame(path, encoding=encoding)
    df, w, errors, kinds = canonicalize(name, raw, str(path), mapping)
    if errors:
        raise InputErrors(errors)
    return df, kinds, warnings + w


def _attribute_families(
    df: pd.DataFrame, kinds: dict[str, str], mapping: ColumnMapping
) -> dict[str, str]:
    fams: dict[str, str] = {}
    for col in df.columns:
        if col in ("account_id", "name"):
            continue
        fams[col] = mapping.families.get(col) or infer_family(col)
    return fams


def ingest(
    workspace: Workspace,
    paths: Mapping[str, str | Path | None],
    *,
    mapping_path: str | Path | None = None,
    encoding: str | None = None,
    product: str | None = None,
) -> IngestResult:
    """Validate the given files and store them in the workspace atomically.

    ``product`` keeps only the deals of one product line (the deals file's
    ``product`` column, case-insensitive), for one ICP per product line.

    ``paths`` maps table names (accounts, deals, contacts, revenue, events,
    tickets, conversations, market) to files. Accounts and deals are required
    unless the workspace already has them. Re-ingesting identical files changes
    nothing.
    """
    result = IngestResult()
    mappings = load_mapping(mapping_path)
    given = {k: Path(v) for k, v in paths.items() if v is not None}
    unknown = set(given) - set(TABLES)
    if unknown:
        raise InputError(f"unknown table(s) {sorted(unknown)}")
    for req in ("accounts", "deals"):
        if req == "deals" and "revenue" in given:
            continue  # a customer base with revenue history can be health-scored without deals
        if req not in given and not (workspace.file.exists() and workspace.has(req)):
            raise InputError(f"--{req} is required", hint=f"Pass --{req} PATH (CSV or Parquet)")
    if product is not None and "deals" not in given:
        raise InputError(
            f"--product {product} needs the deals file", hint="Pass --deals PATH with --product"
        )
    hashes = {k: file_sha256(p) if p.exists() else "" for k, p in given.items()}
    if product is not None:
        hashes["deals"] += f"|product={product.strip().lower()}"
    if workspace.file.exists() and all(workspace.source_hash(k) == h for k, h in hashes.items()):
        result.unchanged = True
        for k in given:
            result.tables[k] = int(workspace.query(f'SELECT count(*) AS n FROM "{k}"')["n"][0])
        result.warnings.append("inputs unchanged since the last ingest; nothing rewritten")
        _store_keep(workspace, given, mappings)
        return result

    frames: dict[str, pd.DataFrame] = {}
    kinds: dict[str, dict[str, str]] = {}
    families: dict[str, dict[str, str]] = {}
    problems: list[InputError] = []
    headers: dict[str, dict[str, str]] = {}
    for name, path in given.items():
        mapping = mappings.get(name, ColumnMapping())
        try:
            df, col_kinds, w = read_table(name, path, mapping, encoding=encoding)
        except InputErrors as exc:
            problems.extend(exc.errors)
            continue
        except InputError as exc:
            problems.append(exc)
            continue
        frames[name] = df
        kinds[name] = col_kinds
        headers[name] = dict(df.attrs.get("source_headers") or {})
        if name in ("accounts", "market"):
            families[name] = _attribute_families(df, col_kinds, mapping)
        result.warnings.extend(w)
    if problems:
        raise InputErrors(problems)

    if product is not None and "deals" in frames:
        frames["deals"] = only_product(frames["deals"], product, str(given["deals"]), result)

    # cross-table checks
    accounts = frames.get("accounts")
    if accounts is None:
        accounts = workspace.table("accounts")
    known = set(accounts["account_id"].dropna().astype(str))
    if (
        "usage" in frames
        and "account_id" not in frames["usage"].columns
        and "subscription_id" not in frames["usage"].columns
    ):
        raise InputError(
            "usage rows need an account_id or a subscription_id column",
            file=str(given["usage"]),
            row=1,
        )
    for name in (
        "deals",
        "contacts",
        "revenue",
        "events",
        "tickets",
        "usage",
        "churn",
        "conversations",
    ):
        df = frames.get(name)
        if df is None or "account_id" not in df.columns:
            continue
        df = frames[name] = by_account_name(df, accounts, str(given[name]), result.warnings)
        orphan = ~df["account_id"].astype(str).isin(known)
        if orphan.any():
            ex = df.loc[orphan, "account_id"].astype(str).drop_duplicates().head(3).tolist()
            result.warnings.append(
                f"{given[name]}: {int(orphan.sum())} row(s) point to accounts not in the accounts file "
                f"(e.g. {ex}); they were skipped"
            )
            frames[name] = df[~orphan].reset_index(drop=True)
        if name == "deals" and len(frames[name]) == 0:
            raise InputError(
                "no deal matches an account",
                file=str(given[name]),
                column="account_id",
                hint="Check that deals.account_id uses the same ids as accounts.account_id",
            )
    if "deals" in frames:
        closed = frames["deals"]["outcome"].isin(["won", "lost"]).sum()
        if closed == 0:
            raise InputError(
                "no closed deals (won or lost) to learn from",
                file=str(given["deals"]),
                column="outcome",
            )
    for name, df in frames.items():
        result.tables[name] = len(df)
    workspace.record_ingest(
        frames,
        {k: (str(given[k]), hashes[k]) for k in frames},
        kinds,
        families,
        drop_derived=DERIVED_TABLES,
    )
    _store_keep(workspace, given, mappings)
    known_headers = workspace.json_artifact("source_headers") or {}
    workspace.write(
        {}, artifacts={"source_headers": json.dumps({**known_headers, **headers}, sort_keys=True)}
    )
    return result


def _store_keep(
    workspace: Workspace, given: Mapping[str, Path], mappings: dict[str, ColumnMapping]
) -> None:
    """Remember the accounts columns the mapping file keeps (``accounts: keep: [...]``) for the build."""
    if "accounts" not in given:
        return
    keep = mappings.get("accounts", ColumnMapping()).keep
    workspace.write({}, meta={KEEP_META_KEY: json.dumps(keep)})


def only_product(
    deals: pd.DataFrame, product: str, file: str, result: IngestResult
) -> pd.DataFrame:
    """The deals of one product line; an unknown product names the ones the file has."""
    if "product" not in deals.columns:
        raise InputError(
            f"--product {product}: the deals file has no product column",
            file=file,
            hint="Map the column that names the product line to 'product' in the mapping file",
        )
    text = deals["product"].astype("string").str.strip().str.lower()
    keep = text.eq(product.strip().lower()).fillna(False).to_numpy(dtype=bool)
    if not keep.any():
        have = text.dropna().value_counts()
        listed = ", ".join(f"{v} ({c})" for v, c in have.head(10).items())
        raise InputError(
            f"--product {product}: no deal has that product",
            file=file,
            column="product",
            hint=f"products in the file: {listed or 'none'}",
        )
    result.warnings.append(
        f"--product {product}: learning from the {int(keep.sum())} of {len(deals)} deals of that product"
    )
    return deals[keep].reset_index(drop=True)


def by_account_name(
    df: pd.DataFrame, accounts: pd.DataFrame, file: str, warnings: list[str]
) -> pd.DataFrame:
    """Rows that name their account by company name (a Salesforce report's ``Account Name``,
    HubSpot's ``Associated Company``) get the account's id.

    Used when most values are not account ids but match the accounts file's names
    (trimmed, case-insensitive); a name two accounts share is left as it is.
    """
    if "name" not in accounts.columns or len(df) == 0:
        return df
    values = df["account_id"].astype("string")
    ids = set(accounts["account_id"].dropna().astype(str))
    if values.isin(ids).fillna(False).mean() >= 0.5:
        return df
    names = accounts["name"].astype("string").str.strip().str.lower()
    counts = names.value_counts()
    unique = names.isin(counts[counts == 1].index).fillna(False).to_numpy(dtype=bool)
    lookup = dict(zip(names[unique], accounts.loc[unique, "account_id"].astype(str), strict=True))
    key = values.str.strip().str.lower()
    matched = key.map(lookup)
    hit = matched.notna().to_numpy(dtype=bool)
    if hit.mean() < 0.5:
        return df
    out = df.copy()
    out.loc[hit, "account_id"] = matched[hit].to_numpy()
    shared = int(key.isin(counts[counts > 1].index).fillna(False).sum())
    warnings.append(
        f"{file}: the account column holds company names; {int(hit.sum())} of {len(df)} row(s) "
        "matched to the accounts file by name"
        + (f", {shared} name a company that several accounts share" if shared else "")
    )
    return out
