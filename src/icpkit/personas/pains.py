"""Each role's pains in its own words: phrases over-represented in its customer-side conversations."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from icpkit.personas.model import Pain

PAIN_Z = 2.58  # a pain is over-represented at the 1% level against every other customer text

# Speakers on the seller's side; everyone else in conversations is the customer.
SELLER_SPEAKERS = frozenset(
    {"us", "we", "rep", "agent", "seller", "sales", "vendor", "internal", "staff", "employee"}
)
# Small talk that is never a pain, however distinctive.
_CHATTER = frozenset(
    """call calls time next week weeks thanks thank today tomorrow follow following followup up
    schedule scheduling reschedule rescheduling meeting meet demo recap monday tuesday wednesday
    thursday friday morning afternoon find let's lets back touch base soon right sounds""".split()
)
_SENT = re.compile(r"[^.!?\n]+[.!?]?")


def _log_odds_z(y_a: int, n_a: int, y_b: int, n_b: int, alpha: float = 0.5) -> float:
    a1, a0 = y_a + alpha, max(n_a - y_a, 0) + alpha
    b1, b0 = y_b + alpha, max(n_b - y_b, 0) + alpha
    return (math.log(a1 / a0) - math.log(b1 / b0)) / math.sqrt(1 / a1 + 1 / a0 + 1 / b1 + 1 / b0)


def _quote(texts: Iterable[str], phrase: str, max_len: int = 180) -> str:
    """The sentence containing ``phrase`` heard most often (the shortest on ties)."""
    pat = re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", re.IGNORECASE)
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(s.strip() for s in _SENT.findall(t) if pat.search(s))
    if not counts:
        return ""
    best = min(counts.items(), key=lambda kv: (-kv[1], len(kv[0])))[0]
    return best if len(best) <= max_len else best[: max_len - 1].rstrip() + "…"


class PainFinder:
    """Top phrases of some customer texts, checked against every other customer text."""

    def __init__(self, texts: pd.Series, accounts: pd.Series) -> None:
        self.texts = texts.fillna("").astype(str).tolist()
        self.lower = [t.lower() for t in self.texts]
        self.accounts = accounts.astype(str).tolist()
        self._masks: dict[str, np.ndarray] = {}
        self.source = "icpkit.voc key phrases"

    def _mask(self, phrase: str) -> np.ndarray:
        m = self._masks.get(phrase)
        if m is None:
            pat = re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")
            m = np.fromiter(
                (phrase in t and pat.search(t) is not None for t in self.lower),
                dtype=bool,
                count=len(self.lower),
            )
            self._masks[phrase] = m
        return m

    def _candidates(self, rows: np.ndarray) -> list[tuple[str, int, int]]:
        from icpkit.voc.themes import key_phrases  # scikit-learn, loaded only when pains are sought

        texts = [self.texts[i] for i in rows]
        accs = [self.accounts[i] for i in rows]
        found = [
            (t.phrase, t.passages, t.accounts) for t in key_phrases(texts, top=30, accounts=accs)
        ]
        multi = [c for c in found if " " in c[0] and not all(w in _CHATTER for w in c[0].split())]
        return multi or [c for c in found if c[0] not in _CHATTER]

    def pains(self, rows: np.ndarray, top: int = 3) -> list[Pain]:
        """Up to ``top`` phrases over-represented in these texts, the most heard first; when
        none is, the single most heard phrase (marked not distinctive)."""
        if len(rows) < 3:
            return []
        inside = np.zeros(len(self.texts), dtype=bool)
        inside[rows] = True
        n_in, n_out = int(inside.sum()), int((~inside).sum())
        scored = []
        for phrase, passages, n_acc in self._candidates(rows):
            m = self._mask(phrase)
            y_in, y_out = int((m & inside).sum()), int((m & ~inside).sum())
            if y_in >= 2:
                z = _log_odds_z(y_in, n_in, y_out, n_out) if n_out else 0.0
                scored.append((phrase, max(passages, y_in), n_acc, z >= PAIN_Z, m & inside))
        scored.sort(key=lambda t: (not t[3], -t[1]))
        out: list[Pain] = []
        for phrase, passages, n_acc, distinctive, where in scored:
            if (not distinctive and out) or len(out) >= top:
                break
            if any(phrase in p.phrase or p.phrase in phrase for p in out):
                continue
            quote = _quote((self.texts[i] for i in np.flatnonzero(where)), phrase)
            if quote and all(quote != p.quote for p in out):
                out.append(
                    Pain(phrase, passages, n_acc, round(passages / n_in, 4), quote, distinctive)
                )
                if not distinctive:
                    break
        return out


def customer_texts(
    conversations: pd.DataFrame | None, roles: pd.DataFrame, warnings: list[str]
) -> pd.DataFrame:
    """Customer-side conversations by contacts, with the speaker's role (``_role``)."""
    if conversations is None or not len(conversations) or "contact_id" not in conversations:
        return pd.DataFrame(columns=["contact_id", "account_id", "text", "_role"])
    cust = conversations[conversations["contact_id"].notna() & conversations["text"].notna()]
    if "speaker" in cust.columns:
        spk = cust["speaker"].fillna("").astype(str).str.strip().str.lower()
        cust = cust[~spk.isin(SELLER_SPEAKERS)]
    cust = cust.assign(contact_id=cust["contact_id"].astype(str)).reset_index(drop=True)
    if "account_id" not in cust.columns:
        cust["account_id"] = ""
    who: dict[str, str] = {}
    if "contact_id" in roles.columns:
        who = dict(zip(roles["contact_id"].astype(str), roles["_role"], strict=True))
    cust["_role"] = cust["contact_id"].map(who)
    stray = cust["_role"].isna()
    if stray.any():
        warnings.append(
            f"personas: {int(stray.sum())} customer conversation(s) name contacts not in the contacts "
            f"file (e.g. {cust.loc[stray, 'contact_id'].drop_duplicates().head(3).tolist()}); "
            "left out of the pains"
        )
    return cust
