"""Benchmark the conversation search behind `icp ask`.

    python benchmarks/ask.py                       # 1,000,000 passages, 50,000 accounts
    python benchmarks/ask.py --passages 200000     # smaller run

Generates synthetic conversations (one ~60-word passage each) from sentence
templates, builds the passage index through ``update_index`` and reports:

* build time and index size on disk, then the time to add one more month;
* p50/p95 latency of 100 scoped questions, both the index search alone and
  ``ask()`` end to end (scope parsing and resolution, quotes, themes);
* the obvious peer on the same scopes: a DuckDB scan of the conversations
  table with the account/date filter and ILIKE matching, ranked by the number
  of matched words, and the ratio of the two p50s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

TODAY = date(2025, 7, 15)
START = np.datetime64("2023-01-01")
DAYS = int((np.datetime64("2025-07-01") - START).astype(int))

TOPICS = {
    "onboarding": ["onboarding", "setup", "kickoff", "implementation"],
    "pricing": ["pricing", "renewal quote", "discount", "invoice"],
    "integration": ["API", "webhook", "Salesforce sync", "SSO"],
    "performance": ["dashboard", "report export", "search page", "mobile app"],
    "support": ["support ticket", "escalation", "help desk", "account manager"],
    "security": ["security review", "SOC 2 report", "data residency", "audit log"],
}
TEMPLATES = [
    "The {x} was slower than we expected and the team lost a week.",
    "Honestly the {x} is the reason we renewed this year.",
    "We keep running into problems with the {x} after every release.",
    "Can you explain how the {x} works for our regional offices?",
    "Our finance lead asked twice about the {x} before signing.",
    "The {x} broke again on Monday and nobody on our side could fix it.",
    "I love how simple the {x} is compared to our old vendor.",
    "We need the {x} to handle ten times more volume by next quarter.",
    "The {x} confused our new hires and they opened several tickets.",
    "Leadership wants a clear plan for the {x} before the board meeting.",
]
FILLER = [
    "Thanks for the quick call today.",
    "Let me check with the operations team and come back to you.",
    "We will share the notes after the meeting.",
    "Please send the updated document by Friday.",
    "Everyone on the call agreed on the next steps.",
]
INDUSTRIES = ["Logistics", "Manufacturing", "Retail", "Healthcare", "Software", "Education"]
CHANNELS = np.array(["email", "call", "chat", "ticket"])
SPEAKERS = np.array(["customer", "rep"])


def sentence_pool() -> tuple[np.ndarray, np.ndarray]:
    """All filled template sentences and the topic of each (-1 for filler)."""
    sents, topic = [], []
    for t, (name, words) in enumerate(TOPICS.items()):
        del name
        for w in words:
            for tpl in TEMPLATES:
                sents.append(tpl.format(x=w))
                topic.append(t)
    sents += FILLER
    topic += [-1] * len(FILLER)
    return np.array(sents, dtype=object), np.array(topic)


def conversations(
    n: int, accounts: int, seed: int = 0, id_offset: int = 0, days: tuple[int, int] = (0, DAYS)
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pool, _ = sentence_pool()
    idx = rng.integers(0, len(pool), size=(n, 4))
    parts = pool[idx]
    text = [" ".join(row) for row in parts]
    day = rng.integers(days[0], days[1], n)
    return pd.DataFrame(
        {
            "id": np.char.add("c", np.arange(id_offset, id_offset + n).astype(str)),
            "account_id": np.char.add("a", rng.integers(0, accounts, n).astype(str)),
            "contact_id": None,
            "occurred_at": START + day.astype("timedelta64[D]"),
            "channel": CHANNELS[rng.integers(0, len(CHANNELS), n)],
            "speaker": SPEAKERS[rng.integers(0, 2, n)],
            "text": text,
        }
    )


def account_tables(accounts: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.char.add("a", np.arange(accounts).astype(str))
    health = rng.uniform(0, 100, accounts)
    rank = (-health).argsort().argsort() + 1
    tiers = np.array(["1", "2", "3", "none", "excluded"])[rng.integers(0, 5, accounts)]
    return {
        "accounts": pd.DataFrame(
            {
                "account_id": ids,
                "name": np.char.add("Company ", np.arange(accounts).astype(str)),
                "industry": np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), accounts)],
                "employees": rng.integers(5, 20000, accounts),
            }
        ),
        "health": pd.DataFrame(
            {
                "account_id": ids,
                "health": health,
                "health_rank": rank,
                "health_tier": np.where(
                    rank <= accounts // 3,
                    "best",
                    np.where(rank > 2 * accounts // 3, "worst", "middle"),
                ),
            }
        ),
        "scores": pd.DataFrame(
            {"account_id": ids, "score": health, "tier": tiers, "route": "", "reasons": ""}
        ),
    }


def questions(k: int, seed: int = 2) -> list[str]:
    rng = np.random.default_rng(seed)
    topics = ["onboarding delays", "pricing and discounts", "API webhook problems", "slow dashboard",
              "support escalation", "security review", "report export", "SSO setup", "renewal quote"]  # fmt: skip
    scopes = ["tier 1 accounts", "tier 2 and 3 customers", "our best 100 customers", "the worst 500 accounts",
              "logistics customers", "customers in healthcare", "negative ICP accounts", "best customers",
              "tier 1 software companies"]  # fmt: skip
    windows = ["last quarter", "in Q2 2025", "this year", "last month", "since 2024-06-01", "in 2024",
               "last 90 days", "in March 2025"]  # fmt: skip
    out = []
    for _ in range(k):
        out.append(
            f"what do {scopes[rng.integers(len(scopes))]} say about {topics[rng.integers(len(topics))]} "
            f"{windows[rng.integers(len(windows))]}?"
        )
    return out


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.array(xs) * 1000, p))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--passages", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=50_000)
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument(
        "--workdir", type=Path, default=None, help="keep the workspace here (default: a temp dir)"
    )
    args = ap.parse_args()

    from icpkit.voc import ask, open_index, update_index
    from icpkit.voc.ask import build_vocabulary, resolve_accounts, scope_filters
    from icpkit.voc.scope import parse_question, topic_words
    from icpkit.workspace import Workspace

    tmp = Path(tempfile.mkdtemp()) if args.workdir is None else args.workdir
    ws_dir = tmp / "ws_ask"
    if ws_dir.exists():
        shutil.rmtree(ws_dir)
    ws = Workspace(ws_dir)

    t0 = time.perf_counter()
    conv = conversations(args.passages, args.accounts)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    ws.write({"conversations": conv, **account_tables(args.accounts)})
    t_load = time.perf_counter() - t0
    print(f"generated {len(conv):,} conversations for {args.accounts:,} accounts in {t_gen:.1f}s; "
          f"loaded into the workspace in {t_load:.1f}s")  # fmt: skip

    t0 = time.perf_counter()
    rep = update_index(ws)
    t_build = time.perf_counter() - t0
    idx = open_index(ws)
    size = idx.size_bytes()
    print(f"index build: {t_build:.1f}s for {rep.total_passages:,} passages "
          f"({rep.total_passages / t_build:,.0f}/s); size on disk {size / 1024**2:,.0f} MiB")  # fmt: skip

    month = max(args.passages // 30, 1)
    extra = conversations(
        month, args.accounts, seed=9, id_offset=args.passages, days=(DAYS, DAYS + 14)
    )
    ws.write({"conversations": pd.concat([conv, extra], ignore_index=True)})
    del conv
    t0 = time.perf_counter()
    inc = update_index(ws)
    t_inc = time.perf_counter() - t0
    print(
        f"incremental update: +{inc.added_sources:,} conversations in {t_inc:.1f}s (rebuilt={inc.rebuilt})"
    )

    qs = questions(args.questions)
    vocab = build_vocabulary(ws)
    t_search, t_ask, t_peer, totals = [], [], [], []
    con = ws.con
    for q in qs:
        scope = parse_question(q, TODAY, vocabulary=vocab)
        accounts = resolve_accounts(ws, scope)
        f = scope_filters(scope, accounts, None)
        t0 = time.perf_counter()
        res = idx.search(scope.topic, f, limit=20)
        t_search.append(time.perf_counter() - t0)
        totals.append(res.total)

        t0 = time.perf_counter()
        ask(ws, q, today=TODAY, limit=20)
        t_ask.append(time.perf_counter() - t0)

        words = topic_words(scope.topic)
        like = [f"text ILIKE '%{w}%'" for w in words]
        where = ["(" + " OR ".join(like) + ")"] if like else []
        if scope.since:
            where.append(f"occurred_at >= DATE '{scope.since}'")
        if scope.until:
            where.append(f"occurred_at < DATE '{scope.until}' + INTERVAL 1 DAY")
        if accounts is not None:
            con.register("_bench_scope", pd.DataFrame({"account_id": sorted(accounts)}))
            where.append("account_id IN (SELECT account_id FROM _bench_scope)")
        rank = " + ".join(f"({x})::INT" for x in like) or "0"
        sql = (f"SELECT id, account_id, occurred_at, text, {rank} AS hits FROM conversations "
               f"WHERE {' AND '.join(where) or 'TRUE'} ORDER BY hits DESC, occurred_at DESC LIMIT 20")  # fmt: skip
        t0 = time.perf_counter()
        con.execute(sql).fetchall()
        t_peer.append(time.perf_counter() - t0)
        if accounts is not None:
            con.unregister("_bench_scope")

    print(
        f"\n{len(qs)} scoped questions (median {int(np.median(totals)):,} matching passages in scope):"
    )
    print(
        f"  index search (top 20)      p50 {pct(t_search, 50):8.1f} ms   p95 {pct(t_search, 95):8.1f} ms"
    )
    print(
        f"  ask() end to end           p50 {pct(t_ask, 50):8.1f} ms   p95 {pct(t_ask, 95):8.1f} ms"
    )
    print(
        f"  peer: DuckDB filter+ILIKE  p50 {pct(t_peer, 50):8.1f} ms   p95 {pct(t_peer, 95):8.1f} ms"
    )
    print(f"  ratio peer/index search p50: {pct(t_peer, 50) / pct(t_search, 50):.1f}x;  "
          f"peer/ask() p50: {pct(t_peer, 50) / pct(t_ask, 50):.1f}x")  # fmt: skip
    ws.close()
    if args.workdir is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
