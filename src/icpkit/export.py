"""One-pagers for the teams downstream of the ICP, and the interview plan.

``icp export`` writes, from a workspace after ``icp run``:

- ``icp-one-pager``: for sales — who to chase, how to recognise them, who to
  reject, the trigger to watch, the primary persona and what they care about;
- ``personas/<tier>-<role>``: one card per buying role per tier — titles, share
  of won deals, pains in customers' own words, objections heard from blockers;
- ``negative-icp``: who we do not serve, with the evidence;
- ``interview-plan``: which accounts to interview, whom inside, and the
  questions that would confirm or break each weak claim of the ICP.

Each card is data (:class:`Card`) rendered by one template to Markdown and to
a self-contained HTML page (and to PDF when Chromium is installed). Every rate
carries the count it rests on.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import WorkspaceError
from .icpfile import ICP
from .labels import label
from .report.executive import share
from .workspace import Workspace

ROLE_WORDS = {
    "champion": "Champion",
    "economic_buyer": "Economic buyer",
    "technical_buyer": "Technical buyer",
    "end_user": "End user",
    "influencer": "Influencer",
    "blocker": "Blocker",
}
TIER_GROUPS = {"tier_1": "1", "tier_2": "2", "tier_3": "3"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_MAIN = re.compile(r"<main>.*?</main>", re.S)


@dataclass
class Part:
    """A titled part of a card: sentences, bullets and a table (rows of plain text)."""

    heading: str
    text: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Card:
    slug: str  # file name without extension, may hold one folder: personas/tier-1-champion
    title: str
    lead: str
    parts: list[Part]
    kind: str  # one-pager, persona, negative, interview-plan
    footer: str = ""


# -- data ------------------------------------------------------------------------


@dataclass
class _Data:
    icp: ICP
    scores: pd.DataFrame
    accounts: pd.DataFrame
    deals: pd.DataFrame
    health: pd.DataFrame
    talk: pd.DataFrame  # customer sentences with account, contact role and tier
    contacts: pd.DataFrame

    def tier_of(self) -> pd.Series:
        return self.scores.set_index("account_id")["tier"].astype(str)


def _load(ws: Workspace) -> _Data:
    icp = ws.current_icp()
    if icp is None or not ws.has("scores"):
        raise WorkspaceError("The workspace has no ICP yet. Run `icp run` (or `icp build`) first.")
    scores = ws.table("scores")
    accounts = ws.table("accounts")
    deals = ws.table("deals") if ws.has("deals") else pd.DataFrame()
    health = ws.table("health") if ws.has("health") else pd.DataFrame()
    contacts = ws.table("contacts_roles") if ws.has("contacts_roles") else pd.DataFrame()
    talk = pd.DataFrame(columns=["account_id", "role", "text"])
    if ws.has("conversations") and len(contacts):
        conv = ws.table("conversations")
        if "speaker" in conv.columns:
            conv = conv[conv["speaker"].astype(str).str.lower() != "us"]
        conv = conv.merge(
            contacts[["contact_id", "dmu_role"]].drop_duplicates("contact_id"),
            on="contact_id",
            how="left",
        )
        talk = conv.rename(columns={"dmu_role": "role"})[["account_id", "role", "text"]]
    tiers = scores.set_index("account_id")["tier"].astype(str)
    talk = talk.assign(tier=talk["account_id"].map(tiers).fillna("none"))
    return _Data(icp, scores, accounts, deals, health, talk, contacts)


def _quotes(talk: pd.DataFrame, phrases: list[str], k: int = 3) -> list[str]:
    """Up to ``k`` customer sentences holding one of ``phrases``, most often said first, with counts."""
    if not len(talk) or not phrases:
        return []
    counts: Counter[str] = Counter()
    pats = [p.lower() for p in phrases if p]
    for text in talk["text"].dropna().astype(str):
        for sent in _SENTENCE.split(text):
            low = sent.lower()
            if any(p in low for p in pats):
                counts[sent.strip()] += 1
    return [f"“{s}” (said {n} times)" if n > 1 else f"“{s}”" for s, n in counts.most_common(k)]


def _lost_reasons(d: _Data, tiers: list[str], k: int = 4) -> list[str]:
    if not len(d.deals) or "lost_reason" not in d.deals.columns:
        return []
    t = d.deals["account_id"].map(d.tier_of())
    lost = d.deals[(d.deals["outcome"] == "lost") & t.isin(tiers)]
    vc = lost["lost_reason"].dropna().astype(str).value_counts()
    n = int(lost["lost_reason"].notna().sum())
    return [f"{r} — {c} of {n} lost deals ({share(c / n)})" for r, c in vc.head(k).items()]


# -- the cards ---------------------------------------------------------------------


def one_pager(d: _Data) -> Card:
    icp = d.icp
    st = icp.statement
    counts = d.scores["tier"].astype(str).value_counts()
    tiers = []
    for t in icp.tiers:
        o = t.outcomes
        tiers.append(
            f"Tier {t.tier} ({t.name}): {int(counts.get(str(t.tier), 0)):,} accounts"
            + (
                f", won {share(o.win_rate)} of their deals ({o.wins:,} of {o.deals:,})"
                if o and o.win_rate is not None
                else ""
            )
        )
    parts = [
        Part("Who to chase", [st.entity[:1].upper() + st.entity[1:] + "."], tiers),
        Part("How to recognise them", bullets=list(st.recognize)),
        Part(
            "Who to reject",
            ["Do not spend sales time on these; the score routes them to deprioritize."],
            [f"{x}" for x in st.exclude]
            or [d_.text() for d_ in icp.disqualifiers if d_.enabled]
            or ["No group loses clearly more often than average."],
        ),
    ]
    trig = icp.timing.triggers if icp.timing else []
    if trig:
        parts.append(
            Part(
                "Trigger to watch",
                [
                    "Call when one of these happened recently: deals created soon after it win more often."
                ],
                [
                    f"{t.type.replace('_', ' ')} in the last {t.window_days} days: "
                    f"{share(t.evidence.get('win_rate'))} won vs {share(t.evidence.get('rate_without'))} "
                    f"without (n={int(t.evidence.get('n', 0)):,})"
                    for t in trig
                ],
            )
        )
    else:
        parts.append(Part("Trigger to watch", ["No event type raised the win rate clearly yet."]))
    pains = [
        p for p in (st.pain, icp.voc.pain if icp.voc else None) if p and "to be confirmed" not in p
    ]
    parts.append(
        Part(
            "Who buys and what they care about",
            [st.persona[:1].upper() + st.persona[1:] + "."],
            _quotes(d.talk[d.talk["tier"] == "1"], list(dict.fromkeys(pains)), 2)
            or [f"Pain: {p}" for p in pains],
        )
    )
    key = "priority" if "priority" in d.scores.columns else "score"
    top = d.scores[d.scores["tier"].astype(str) == "1"].sort_values([key, "score"], ascending=False)
    if len(top):
        names = d.accounts.set_index("account_id")["name"] if "name" in d.accounts else None
        rows = [
            {
                "account": (str(names.get(a, a)) if names is not None else a),
                "score": int(s),
                "why now": w if isinstance(w, str) and w else "no recent trigger",
            }
            for a, s, w in zip(
                top["account_id"].head(10),
                top["score"].head(10),
                (top["why_now"] if "why_now" in top else pd.Series([""] * len(top))).head(10),
                strict=True,
            )
        ]
        parts.append(Part("Tier 1 accounts to call first", rows=rows))
    return Card(
        "icp-one-pager",
        "Ideal Customer Profile — for sales",
        f"{st.budget[:1].upper() + st.budget[1:]}. Learned from {icp.evidence.closed_deals:,} "
        f"closed deals ({icp.evidence.wins:,} won).",
        parts,
        "one-pager",
        footer="Scores for every account are in scores.csv; the full evidence is in report.html.",
    )


def persona_cards(d: _Data) -> list[Card]:
    groups = (d.icp.personas.groups or {}) if d.icp.personas else {}
    cards = []
    for group, tier in TIER_GROUPS.items():
        g = groups.get(group)
        if not g:
            continue
        talk = d.talk[d.talk["tier"] == tier]
        blockers = next((r for r in g.get("roles", []) if r.get("role") == "blocker"), None)
        objections = _quotes(
            talk[talk["role"] == "blocker"], list((blockers or {}).get("pains") or []), 3
        )
        lost = _lost_reasons(d, [tier])
        for r in g.get("roles", []):
            role = str(r.get("role"))
            ev = r.get("evidence") or {}
            name = ROLE_WORDS.get(role, role.replace("_", " ").capitalize())
            wins = int(g.get("wins", 0))
            parts = [
                Part(
                    "Who they are",
                    [
                        f"Usually from {str(r.get('function') or 'any function').replace('_', ' ')}"
                        + (
                            f", at {str(r['seniority']).replace('_', ' ')} level."
                            if r.get("seniority")
                            else "."
                        )
                    ],
                    [f"Titles: {', '.join(r.get('titles') or []) or 'unknown'}"],
                ),
                Part(
                    "How often they are in the deal",
                    [
                        f"On {share(r.get('share_of_won'))} of Tier {tier}'s won deals "
                        f"(of {wins:,}). Deals with a {name.lower()} won "
                        f"{share(ev.get('win_rate'))} (n={int(ev.get('n', 0)):,}) vs "
                        f"{share(r.get('rate_without'))} without."
                    ],
                ),
                Part(
                    "Pains, in customers' words",
                    bullets=_quotes(talk[talk["role"] == role], list(r.get("pains") or []), 3)
                    or [str(p) for p in r.get("pains") or []]
                    or ["None heard yet: ask in interviews."],
                ),
                Part(
                    "Objections heard from blockers",
                    bullets=objections or ["None heard in this tier's conversations."],
                ),
            ]
            if lost:
                parts.append(Part(f"Why Tier {tier} deals were lost", bullets=lost))
            cards.append(
                Card(
                    f"personas/tier-{tier}-{role.replace('_', '-')}",
                    f"{name} — Tier {tier}",
                    f"The {name.lower()} in Tier {tier} deals ({int(g.get('deals', 0)):,} closed, "
                    f"{wins:,} won).",
                    parts,
                    "persona",
                )
            )
    return cards


def negative_card(d: _Data) -> Card:
    icp = d.icp
    on = [q for q in icp.disqualifiers if q.enabled]
    off = [q for q in icp.disqualifiers if not q.enabled]
    counts = d.scores["tier"].astype(str).value_counts()

    def row(q: Any) -> dict[str, Any]:
        ev = q.evidence
        return {
            "who": label(q, icp.labels),
            "won": f"{share(ev.win_rate)} ({ev.wins} of {ev.n})"
            if ev and ev.win_rate is not None
            else "",
            "why": q.reason,
            "source": q.source,
        }

    parts = [
        Part(
            "Who we do not serve",
            [
                f"{int(counts.get('excluded', 0)):,} accounts match one of these; they score "
                f"{icp.veto_score} and are routed to deprioritize. On average "
                f"{share(icp.evidence.base_win_rate)} of deals are won."
            ],
            rows=[row(q) for q in on],
        )
    ]
    if off:
        parts.append(
            Part(
                "Warning signs (not vetoed)",
                ["These lose more often or churn more, but not enough to refuse them outright."],
                rows=[row(q) for q in off[:8]],
            )
        )
    lost = _lost_reasons(d, ["excluded"])
    if lost:
        parts.append(Part("Why their deals were lost", bullets=lost))
    return Card(
        "negative-icp",
        "Negative ICP — who we deliberately do not serve",
        (
            "; ".join(icp.statement.exclude) or "no disqualifier passed the evidence bar."
        ).capitalize()[:1]
        + ("; ".join(icp.statement.exclude) or "no disqualifier passed the evidence bar.")[1:],
        parts,
        "negative",
    )


def _contacts_for(d: _Data, account: str) -> str:
    c = d.contacts
    if not len(c):
        return "champion and economic buyer (no contacts loaded)"
    mine = c[c["account_id"] == account]
    out = []
    for role in ("champion", "economic_buyer"):
        r = mine[mine["dmu_role"] == role]
        if len(r):
            t = str(r["title"].dropna().iloc[0]) if r["title"].notna().any() else "unknown title"
            out.append(f"{ROLE_WORDS[role].lower()}: {t}")
    return "; ".join(out) or "no champion or economic buyer on file"


def interview_plan(d: _Data, per_group: int = 6) -> Card:
    icp = d.icp
    names = d.accounts.set_index("account_id")["name"] if "name" in d.accounts else pd.Series()
    tier = d.tier_of()
    h = d.health
    rows: list[dict[str, Any]] = []

    def add(accounts: list[str], why: str) -> None:
        for a in accounts[:per_group]:
            rows.append(
                {
                    "account": str(names.get(a, a)),
                    "tier": str(tier.get(a, "")),
                    "why": why,
                    "whom": _contacts_for(d, a),
                }
            )

    if len(h) and "health_tier" in h.columns:
        best = h[(h["health_tier"] == "best") & (h["account_id"].map(tier) == "1")]
        add(
            best.sort_values("health", ascending=False)["account_id"].tolist(),
            "best-20% customer in Tier 1",
        )
    if len(d.deals):
        lost = d.deals[
            (d.deals["outcome"] == "lost") & d.deals["account_id"].map(tier).isin(["1", "2", "3"])
        ]
        lost = lost.sort_values("closed_at", ascending=False) if "closed_at" in lost else lost
        add(list(dict.fromkeys(lost["account_id"])), "recent loss inside the ICP")
    if len(h) and "retention" in h.columns:
        churned = h[(h["retention"] == 0) & h["account_id"].map(tier).isin(["1", "2", "3"])]
        add(churned["account_id"].tolist(), "churned customer that looks like the ICP")
    st = icp.statement
    qs: list[str] = []
    for slot, text in (("pain", st.pain), ("workaround", st.workaround), ("persona", st.persona)):
        if "to be confirmed" in text:
            qs.append(f"The {slot} is not known from the data: " + {
                "pain": "what problem made you look for a solution, and what did it cost you?",
                "workaround": "how did you handle this before buying? What did it take each week?",
                "persona": "who first pushed for this purchase, and who signed it?",
            }[slot])  # fmt: skip
    trig = icp.timing.triggers if icp.timing else []
    if trig:
        qs.append(
            "Trigger: what happened in the months before you started looking — was it "
            + " or ".join(t.type.replace("_", " ") for t in trig)
            + "? Would you have bought without it?"
        )
    else:
        qs.append("Trigger: what happened in the months before you started looking?")
    qs += [
        "Alternatives: what else did you consider (including doing nothing or spreadsheets), and "
        "why did you choose or reject us?",
        "Buying committee: who was involved from first call to signature, who could have said "
        "no, and what did each of them need to hear?",
    ]
    for c in [c for t in icp.tiers if t.tier == 1 for cs in t.criteria.values() for c in cs][:3]:
        if c.flag or (c.evidence and c.evidence.n < 2 * icp.evidence.min_support):
            qs.append(
                f"Tier 1 criterion '{c.text()}' rests on {c.evidence.n if c.evidence else 0} deals: "
                "does it matter to you, or did it just happen to be true?"
            )
    if icp.evidence.strength != "strong":
        qs.append(
            f"Tier 1 ({'; '.join(st.recognize[:2])}): is this what made you a good fit, or is "
            "something else common to the customers who stay?"
        )
    return Card(
        "interview-plan",
        "Interview plan — confirm or break the ICP",
        f"{len(rows)} accounts to interview (10-20 interviews usually settle an ICP). "
        "Add the transcripts to the conversations file: the next `icp run` folds them in.",
        [
            Part("Whom to interview", rows=rows),
            Part("Questions, one per weak claim", bullets=qs),
        ],
        "interview-plan",
    )


def cards(ws: Workspace) -> list[Card]:
    """Every card for the workspace's current ICP."""
    d = _load(ws)
    return [one_pager(d), negative_card(d), interview_plan(d), *persona_cards(d)]


# -- rendering ---------------------------------------------------------------------


def render(card: Card, fmt: str) -> str:
    from .report.render import _env, _md_env

    env = _env if fmt == "html" else _md_env
    return env.get_template(f"export/card.{fmt}.j2").render(c=card)


def write(ws: Workspace, out_dir: str | Path, *, pdf: bool = False) -> dict[str, Path]:
    """Write every card as Markdown and HTML into ``out_dir``, and ``personas/all.html``.

    With ``pdf``, the one-pager, the negative-ICP card and the interview plan are
    printed to PDF each, and the persona cards together (``personas/all.pdf``).
    """
    from .report.pdf import html_to_pdf

    out = Path(out_dir)
    files: dict[str, Path] = {}
    all_cards = cards(ws)
    for card in all_cards:
        for fmt, ext in (("md", ".md"), ("html", ".html")):
            p = out / f"{card.slug}{ext}"
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(ext + ".tmp")
            tmp.write_text(render(card, fmt), encoding="utf-8")
            tmp.replace(p)
            files[f"{card.slug}{ext}"] = p
        if pdf and card.kind != "persona":
            files[f"{card.slug}.pdf"] = html_to_pdf(
                out / f"{card.slug}.html", out / f"{card.slug}.pdf"
            )
    persona = [c for c in all_cards if c.kind == "persona"]
    if persona:
        # every persona card in one file, a page each: one page to print, one PDF to hand out
        pages = [_MAIN.search(render(c, "html")) for c in persona]
        shell = render(persona[0], "html")
        body = "\n".join(m.group(0) for m in pages if m)
        combined = _MAIN.sub(lambda _m: body, shell, count=1).replace(
            "<title>" + persona[0].title, "<title>Persona cards", 1
        )
        combined = combined.replace("</style>", "main{break-after:page}</style>", 1)
        p = out / "personas" / "all.html"
        tmp = p.with_suffix(".html.tmp")
        tmp.write_text(combined, encoding="utf-8")
        tmp.replace(p)
        files["personas/all.html"] = p
        if pdf:
            files["personas/all.pdf"] = html_to_pdf(p, out / "personas" / "all.pdf")
    return files
