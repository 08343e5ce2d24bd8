"""Recurring themes in conversation passages.

* :func:`key_phrases` — the short theme summary of a set of passages (1-3 word
  phrases counted by the passages that contain them).
* :func:`pain_themes` — per account group (e.g. best vs worst customers): the
  recurring themes with counts and representative quotes, and which themes are
  over-represented in one group against the other (log-odds ratio with a
  z-score), for the "experiencing [pain]" slot of the ICP statement.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from .scope import STOPWORDS

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .index import Hit

# Words that carry no theme in conversations: greetings, sign-offs, fillers.
THEME_STOPWORDS = sorted(
    STOPWORDS
    | set(
        """hi hello hey dear thanks thank thx regards best kind cheers ok okay yes yeah yep sure
        great good fine sorry pls plz kindly attached attachment find please let know also need
        team sir madam mr mrs ms morning afternoon evening today tomorrow yesterday day days
        week just will one two well really thing things way lot bit got get um uh like dont don
        cant can't won't im i'm it's thats that's we're you're i've there's wanted wants want
        sent send check checked checking update updated kindly noted note asap regarding hope
        able via per etc greetings greeting dears hii appreciate appreciated advise advice kindly
        support""".split()
    )
)
# Phrases never cross sentence punctuation or masking placeholders (such as ph_user).
_BREAK = re.compile(r"[.!?;:,()\[\]{}<>\"|/\n]+|\bph_[a-z_]+\b")
_TOKEN = re.compile(r"[a-z][a-z0-9'\-]*[a-z0-9]|[a-z]")
_STOP = frozenset(THEME_STOPWORDS)
_INNER_OK = frozenset({"of", "to", "for", "in", "on", "with", "and", "the", "a", "not", "no"})


def _analyze(text: str) -> list[str]:
    """1-3 word phrases of adjacent words; a phrase neither starts nor ends with a
    stop word, and only short function words may sit inside a trigram."""
    out: list[str] = []
    for seg in _BREAK.split((text or "").lower()):
        _grams(_TOKEN.findall(seg), out)
    return out


def _grams(toks: list[str], out: list[str]) -> None:
    n = len(toks)
    for i, t in enumerate(toks):
        if t in _STOP or len(t) < 2:
            continue
        out.append(t)
        if i + 1 < n:
            u = toks[i + 1]
            if u not in _STOP and len(u) >= 2:
                out.append(f"{t} {u}")
            if i + 2 < n:
                w = toks[i + 2]
                if w not in _STOP and len(w) >= 2 and (u not in _STOP or u in _INNER_OK):
                    out.append(f"{t} {u} {w}")


@dataclass
class Theme:
    phrase: str
    passages: int
    accounts: int = 0
    share: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _vectorize(
    texts: Sequence[str], min_df: int, max_features: int = 20000
) -> tuple[Any, list[str]] | None:
    vec = CountVectorizer(
        analyzer=_analyze,
        binary=True,
        min_df=min_df,
        max_features=max_features,
    )
    try:
        x = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary
        return None
    return x.tocsc(), list(vec.get_feature_names_out())


def _select(
    candidates: list[tuple[str, float, int]], top: int, exclude: Iterable[str] = ()
) -> list[tuple[str, float, int]]:
    """Best-scoring phrases, skipping near-duplicates (a phrase inside another
    chosen one with a similar count) and phrases made only of ``exclude`` words."""
    excl = {w.lower() for w in exclude}
    chosen: list[tuple[str, float, int]] = []
    for phrase, score, count in sorted(candidates, key=lambda t: (-t[1], t[0])):
        words = phrase.split()
        if excl and all(
            any(w.startswith(e[:5]) or e.startswith(w[:5]) for e in excl) for w in words
        ):
            continue
        dup = False
        for other, _, ocount in chosen:
            if (f" {phrase} " in f" {other} " or f" {other} " in f" {phrase} ") and min(
                count, ocount
            ) >= 0.6 * max(count, ocount):
                dup = True
                break
        if not dup:
            chosen.append((phrase, score, count))
        if len(chosen) >= top:
            break
    return chosen


def key_phrases(
    texts: Sequence[str],
    *,
    top: int = 8,
    exclude: Iterable[str] = (),
    accounts: Sequence[str] | None = None,
) -> list[Theme]:
    """Key phrases of ``texts`` with the number of passages (and accounts) containing each.

    Longer phrases get a small bonus so "password reset" beats "password" when
    both are about equally common; words in ``exclude`` (the question's topic)
    are not themes on their own.
    """
    texts = [t or "" for t in texts]
    if not texts:
        return []
    got = _vectorize(texts, min_df=2 if len(texts) >= 6 else 1)
    if got is None:
        return []
    x, names = got
    df = np.asarray(x.sum(axis=0)).ravel()
    min_count = 2 if len(texts) >= 3 else 1
    acc = np.asarray(accounts) if accounts is not None else None
    n_accs = _account_counts(x.tocsr(), acc) if acc is not None else None
    # A theme heard from several accounts outranks one account repeating itself.
    spread = np.log1p(n_accs) if n_accs is not None else np.ones(len(names))
    cands = [
        (names[i], _weight(df[i], len(texts), names[i]) * float(spread[i]), int(df[i]))
        for i in np.argsort(-df)[:3000]
        if df[i] >= min_count
    ]
    out = []
    col_index = {n: i for i, n in enumerate(names)}
    for phrase, _, count in _select(cands, top, exclude):
        n_acc = int(n_accs[col_index[phrase]]) if n_accs is not None else 0
        out.append(Theme(phrase, count, n_acc, round(count / len(texts), 3)))
    return out


def _weight(df: float, n: int, phrase: str) -> float:
    """Theme strength: recurring (sqrt of passage count) but specific (idf), and
    longer phrases slightly preferred."""
    return float(math.sqrt(df) * math.log(1 + n / max(df, 1)) * (1 + 0.35 * phrase.count(" ")))


def log_odds(y_a: int, n_a: int, y_b: int, n_b: int, alpha: float = 0.5) -> tuple[float, float]:
    """Log-odds ratio of a phrase's passage share in group a vs b, and its z-score.

    ``alpha`` is the Haldane-Anscombe correction, so zero counts stay finite.
    """
    a1, a0 = y_a + alpha, max(n_a - y_a, 0) + alpha
    b1, b0 = y_b + alpha, max(n_b - y_b, 0) + alpha
    lo = math.log(a1 / a0) - math.log(b1 / b0)
    se = math.sqrt(1 / a1 + 1 / a0 + 1 / b1 + 1 / b0)
    return lo, lo / se


def _group_hits(ws: Workspace, ids: set[str], limit: int, speakers: set[str] | None) -> list[Hit]:
    from .index import Filters
    from .sync import ensure_index

    idx, _ = ensure_index(ws)
    res = idx.search(
        None, Filters(account_ids={str(i) for i in ids}, speakers=speakers), limit=limit
    )
    return res.hits


def pain_themes(
    ws: Workspace,
    groups: dict[str, set[str]],
    *,
    top: int = 12,
    quotes: int = 2,
    min_accounts: int = 2,
    contrast: tuple[str, str] | None = None,
    speakers: Iterable[str] | None = None,
    max_passages: int = 20000,
) -> dict[str, Any]:
    """Recurring themes per account group, and the themes that separate two groups.

    Parameters
    ----------
    ws : Workspace
        Needs a ``conversations`` table (the passage index is updated first).
    groups : dict of name -> set of account ids
        E.g. ``{"best": {...}, "worst": {...}}``.
    top : int
        Themes per group and per side of the contrast.
    quotes : int
        Representative quotes per theme (from different accounts when possible).
    min_accounts : int
        A theme must recur in at least this many accounts of the group.
    contrast : (a, b), optional
        The two groups to compare; default ``("best", "worst")`` when both are
        present, else the first two groups.
    speakers : iterable of str, optional
        Only passages by these speakers (e.g. ``{"customer"}``).
    max_passages : int
        Cap on passages read per group (newest first).

    Returns
    -------
    dict
        ``{"groups": {name: {"accounts", "accounts_with_text", "passages", "themes": [...]}},
        "contrast": {"a", "b", "over_a": [...], "over_b": [...]}}``. Each theme has
        ``phrase``, ``passages``, ``accounts``, ``share`` and ``quotes``; each contrast
        row has the counts of both groups, ``log_odds`` and ``z``.
    """
    spk = {s.lower() for s in speakers} if speakers else None
    names = list(groups)
    hits: dict[str, list[Hit]] = {
        g: _group_hits(ws, groups[g], max_passages, spk) if groups[g] else [] for g in names
    }
    all_hits = [(g, h) for g in names for h in hits[g]]
    result: dict[str, Any] = {"groups": {}, "contrast": None}
    if not all_hits:
        for g in names:
            result["groups"][g] = {
                "accounts": len(groups[g]),
                "accounts_with_text": 0,
                "passages": 0,
                "themes": [],
            }
        return result
    texts = [h.text for _, h in all_hits]
    got = _vectorize(texts, min_df=min(3, max(1, len(texts) // 50)))
    if got is None:
        return result
    x, vocab = got
    x = x.tocsr()
    group_of = np.array([g for g, _ in all_hits])
    acc_of = np.array([h.account_id for _, h in all_hits])
    df_all = np.asarray(x.sum(axis=0)).ravel()
    per_group: dict[str, dict[str, Any]] = {}
    for g in names:
        rows = np.where(group_of == g)[0]
        sub = x[rows].tocsc()
        dfg = np.asarray(sub.sum(axis=0)).ravel()
        accs = acc_of[rows]
        n_acc = _account_counts(sub, accs)
        per_group[g] = {"rows": rows, "df": dfg, "acc": n_acc}
        cands = [
            (
                vocab[j],
                float(math.sqrt(dfg[j]))
                * float(np.log(1 + len(texts) / max(df_all[j], 1)))
                * (1 + 0.35 * vocab[j].count(" ")),
                int(dfg[j]),
            )  # fmt: skip
            for j in np.where((dfg >= 2) & (n_acc >= min_accounts))[0]
        ]
        themes = []
        col = {v: i for i, v in enumerate(vocab)}
        for phrase, _, count in _select(cands, top):
            j = col[phrase]
            themes.append(
                {
                    "phrase": phrase,
                    "passages": count,
                    "accounts": int(n_acc[j]),
                    "share": round(count / max(len(rows), 1), 4),
                    "quotes": _quotes(x, rows, j, all_hits, quotes),
                }
            )
        result["groups"][g] = {
            "accounts": len(groups[g]),
            "accounts_with_text": len(set(accs)),
            "passages": len(rows),
            "themes": themes,
        }
    if contrast is None and len(names) >= 2:
        contrast = ("best", "worst") if {"best", "worst"} <= set(names) else (names[0], names[1])
    if contrast:
        result["contrast"] = _contrast(contrast, per_group, vocab, top, min_accounts)
    return result


def _account_counts(x: Any, accs: np.ndarray) -> np.ndarray:
    """For each column of the passage x phrase matrix, the number of distinct accounts."""
    if x.shape[0] == 0:
        return np.zeros(x.shape[1], dtype=int)
    codes, _ = _factorize(accs)
    m = sparse.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(codes.max() + 1, len(codes))
    )
    per_account = m @ x
    return np.asarray((per_account > 0).sum(axis=0)).ravel().astype(int)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, codes = np.unique(values, return_inverse=True)
    return codes, uniq


def _quotes(
    x: Any, rows: np.ndarray, j: int, all_hits: list[tuple[str, Hit]], k: int
) -> list[dict[str, Any]]:
    col = x[rows, j].nonzero()[0]
    cand = [all_hits[rows[i]][1] for i in col]
    # Prefer mid-length passages, one per account first.
    cand.sort(key=lambda h: abs(len(h.text.split()) - 45))
    picked: list[Hit] = []
    seen: set[str] = set()
    for h in cand:
        if h.account_id not in seen:
            picked.append(h)
            seen.add(h.account_id)
        if len(picked) >= k:
            break
    for h in cand:
        if len(picked) >= k:
            break
        if h not in picked:
            picked.append(h)
    return [
        {
            "quote": h.text,
            "account_id": h.account_id,
            "source_id": h.source_id,
            "passage_id": h.passage_id,
            "start": h.start,
            "end": h.end,
            "date": h.date.isoformat() if h.date else None,
        }  # fmt: skip
        for h in picked
    ]


def _contrast(
    pair: tuple[str, str],
    per_group: dict[str, dict[str, Any]],
    vocab: list[str],
    top: int,
    min_accounts: int,
) -> dict[str, Any]:
    a, b = pair
    ga, gb = per_group.get(a), per_group.get(b)
    out: dict[str, Any] = {"a": a, "b": b, "over_a": [], "over_b": []}
    if ga is None or gb is None:
        return out
    n_a, n_b = len(ga["rows"]), len(gb["rows"])
    if not n_a or not n_b:
        return out
    rows: list[dict[str, Any]] = []
    for j in np.where((ga["df"] + gb["df"]) >= 3)[0]:
        y_a, y_b = int(ga["df"][j]), int(gb["df"][j])
        lo, z = log_odds(y_a, n_a, y_b, n_b)
        rows.append(
            {
                "phrase": vocab[j],
                f"{a}_passages": y_a,
                f"{a}_total": n_a,
                f"{a}_accounts": int(ga["acc"][j]),
                f"{b}_passages": y_b,
                f"{b}_total": n_b,
                f"{b}_accounts": int(gb["acc"][j]),
                "log_odds": round(lo, 4),
                "z": round(z, 3),
            }  # fmt: skip
        )

    def pick(side: str, sign: int) -> list[dict[str, Any]]:
        cands = [r for r in rows if sign * r["z"] > 1.96 and r[f"{side}_accounts"] >= min_accounts]
        sel = _select([(r["phrase"], sign * r["z"], r[f"{side}_passages"]) for r in cands], top)
        by = {r["phrase"]: r for r in cands}
        return [by[p] for p, _, _ in sel]

    out["over_a"] = pick(a, 1)
    out["over_b"] = pick(b, -1)
    return out
