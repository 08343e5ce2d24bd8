"""Contacts: the people on each deal, their planted roles, titles, departments and
emails."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .draws import choice
from .words import DEPTS, FILLER_P, FIRST, FUNCS, LAST, TITLES


def draw_contacts(rng: np.random.Generator, deals: pd.DataFrame) -> pd.DataFrame:
    """Contacts per deal (column ``d`` = deal row, ``slot`` 0-4 planted, 9 filler)."""
    nd = len(deals)
    d = np.arange(nd)
    ops, fin, block = deals["ops"].to_numpy(), deals["fin"].to_numpy(), deals["block"].to_numpy()
    champ_other = ~ops & (rng.random(nd) < 0.55)
    eb_other = ~fin & (rng.random(nd) < 0.6)
    parts = [
        (d[ops], np.where(rng.random(ops.sum()) < 0.6, 1, 0), "champion"),
        (d[champ_other], rng.choice([5, 6, 7, 8, 9, 11], champ_other.sum()), "champion"),
        (d[fin], np.full(fin.sum(), 2), "economic buyer"),
        (d[eb_other], np.full(eb_other.sum(), 10), "economic buyer"),
        (d[block], np.where(rng.random(block.sum()) < 0.65, 3, 4), "blocker"),
    ]
    nf = rng.integers(1, 4, nd)
    fd = np.repeat(d, nf)
    f_role = np.array(["technical buyer", "end user", None], dtype=object)[
        rng.choice(3, len(fd), p=[0.12, 0.14, 0.74])
    ]
    frames = [
        pd.DataFrame({"d": dd, "f": ff, "role": r, "slot": i})
        for i, (dd, ff, r) in enumerate(parts)
    ]
    frames.append(
        pd.DataFrame(
            {"d": fd, "f": rng.choice(len(FUNCS), len(fd), p=FILLER_P), "role": f_role, "slot": 9}
        )
    )
    c = (
        pd.concat(frames, ignore_index=True)
        .sort_values(["d", "slot"], kind="stable")
        .reset_index(drop=True)
    )
    nc = len(c)
    c.loc[(c["slot"] < 9) & (rng.random(nc) < 0.12), "role"] = None  # roles are often not recorded
    f = c["f"].to_numpy()
    pool = np.array([t for fn in FUNCS for t in TITLES[fn]], dtype=object)
    size = np.array([len(TITLES[fn]) for fn in FUNCS])
    off = np.concatenate([[0], np.cumsum(size)[:-1]])
    title = pd.Series(pool[off[f] + (rng.random(nc) * size[f]).astype(int)])
    r = rng.random(nc)
    title = title.where(r >= 0.08, title.str.lower()).where(
        (r < 0.08) | (r >= 0.11), title.str.upper()
    )
    typo = np.flatnonzero((r >= 0.11) & (r < 0.14))
    at = rng.random(len(typo))
    for i, x in zip(typo, at, strict=True):
        s = title[i]
        j = int(x * (len(s) - 1))
        title[i] = s[:j] + s[j + 1] + s[j] + s[j + 2 :]
    title[(r >= 0.14) & (r < 0.18)] = None
    dpool = np.array([x for fn in FUNCS for x in DEPTS[fn]], dtype=object)
    dsize = np.array([len(DEPTS[fn]) for fn in FUNCS])
    doff = np.concatenate([[0], np.cumsum(dsize)[:-1]])
    dept = dpool[doff[f] + (rng.random(nc) * dsize[f]).astype(int)]
    dept[rng.random(nc) < 0.3] = None
    first = (
        pd.Series(choice(rng, FIRST, nc))
        .str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
    )
    last = (
        pd.Series(choice(rng, LAST, nc))
        .str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
    )
    first, last = first.str.lower(), last.str.lower().str.replace(r"[^a-z]", "", regex=True)
    pat = rng.integers(0, 4, nc)
    first, last = first.to_numpy(dtype=object), last.to_numpy(dtype=object)
    initial = np.array([x[:1] for x in first], dtype=object)
    local = np.select(
        [pat == 0, pat == 1, pat == 2],
        [first + "." + last, initial + last, first],
        first + "_" + last,
    )
    c["email"] = pd.Series(local) + "@" + deals["domain"].to_numpy()[c["d"].to_numpy()]
    c.loc[rng.random(nc) < 0.05, "email"] = None
    c["title"], c["department"] = title, dept
    return c
