"""Inline SVG charts for the self-contained report (no JavaScript, no CDN)."""

from __future__ import annotations

from html import escape

import numpy as np

COLORS = {
    "1": "#1b7f3b",
    "2": "#58a55c",
    "3": "#a5d396",
    "none": "#c9ced6",
    "excluded": "#d1495b",
    "worst": "#d1495b",
    "middle": "#9aa5b1",
    "best": "#1b7f3b",
}
# Average width of one character of the chart font (11px), for laying out labels.
CHAR_W = 6.4


def _nice_ticks(top: int) -> list[int]:
    """A few round counts from 0 to at least ``top`` for a count axis."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return list(range(0, top + step, step))
    step = 10 ** len(str(top))
    return [0, step]


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of about ``width`` characters; the last ends in … if cut."""
    words = text.split(" ")
    out: list[str] = []
    cur = ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    out.append(cur)
    out = [x if len(x) <= width else x[: width - 1] + "…" for x in out]
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        out[-1] = (last if len(last) < width else last[: width - 1]) + "…"
    return out


def histogram(
    values: list[float] | np.ndarray,
    *,
    groups: list[str] | None = None,
    bins: int = 20,
    lo: float = 0,
    hi: float = 100,
    title: str = "",
    xlabel: str = "score",
    width: int = 640,
    height: int = 220,
    order: list[str] | None = None,
    ylabel: str = "accounts",
) -> str:
    """Stacked histogram; ``groups`` colours each value (tier labels), with a count axis."""
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups if groups is not None else ["none"] * len(v), dtype=object)
    edges = np.linspace(lo, hi, bins + 1)
    keys = order or sorted(set(g.tolist()))
    counts = {k: np.histogram(v[g == k], bins=edges)[0] for k in keys}
    total = np.sum([c for c in counts.values()], axis=0) if counts else np.zeros(bins)
    ticks = _nice_ticks(max(1, int(total.max()) if len(total) else 1))
    top = ticks[-1]
    pad_l, pad_b, pad_t = 56, 34, 30
    w = width - pad_l - 10
    h = height - pad_b - pad_t
    bw = w / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">'
    ]
    parts.append(f'<text x="{pad_l}" y="16" class="ct">{escape(title)}</text>')
    for i in range(bins):
        y0: float = pad_t + h
        for k in keys:
            c = int(counts[k][i])
            if c == 0:
                continue
            bh = h * c / top
            y0 -= bh
            parts.append(
                f'<rect x="{pad_l + i * bw + 1:.1f}" y="{y0:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="{COLORS.get(k, "#7a8aa0")}"><title>{escape(str(k))}: {c} in {edges[i]:.0f}-{edges[i + 1]:.0f}</title></rect>'
            )
    parts.append(
        f'<line x1="{pad_l}" y1="{pad_t + h}" x2="{pad_l + w}" y2="{pad_t + h}" stroke="#444"/>'
    )
    for t in np.linspace(lo, hi, 6):
        x = pad_l + (t - lo) / (hi - lo) * w
        parts.append(
            f'<text x="{x:.1f}" y="{pad_t + h + 14}" class="tick" text-anchor="middle">{t:.0f}</text>'
        )
    parts.append(
        f'<text x="{pad_l + w / 2}" y="{height - 4}" class="tick" text-anchor="middle">{escape(xlabel)}</text>'
    )
    for t in ticks:
        y = pad_t + h - h * t / top
        parts.insert(
            2,
            f'<line x1="{pad_l - 3}" y1="{y:.1f}" x2="{pad_l + w}" y2="{y:.1f}" stroke="#e4e7eb"/>'
            f'<text x="{pad_l - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{t:,}</text>',
        )
    parts.append(
        f'<text x="12" y="{pad_t + h / 2:.1f}" class="tick" text-anchor="middle" '
        f'transform="rotate(-90 12 {pad_t + h / 2:.1f})">{escape(ylabel)}</text>'
    )
    lx = pad_l + w
    present = [k for k in keys if int(counts[k].sum())]
    for k in reversed(present):
        text = _legend(k)
        parts.append(
            f'<rect x="{lx - 10}" y="{pad_t - 16}" width="10" height="10" fill="{COLORS.get(k, "#7a8aa0")}"/><text x="{lx - 14}" y="{pad_t - 7}" class="tick" text-anchor="end">{escape(text)}</text>'
        )
        lx -= int(26 + CHAR_W * len(text))
    parts.append("</svg>")
    return "".join(parts)


def _legend(k: str) -> str:
    return f"Tier {k}" if k in ("1", "2", "3") else k


def forest(
    rows: list[dict], base: float, *, title: str = "", width: int = 760, row_h: int = 30
) -> str:
    """Win rate with 95% interval per segment against the base rate.

    Each row is labelled with its ``label`` (the segment in words), else its
    ``segment`` text.

    Labels wrap onto two lines inside the label column (never clipped at the
    chart's edge); the x axis is the win rate in percent.
    """
    if not rows:
        return ""
    label_w = 340
    chars = int((label_w - 16) / CHAR_W)
    pad_t = 28
    height = pad_t + row_h * len(rows) + 40
    w = width - label_w - 64
    hi = min(1.0, max(max(r["ci_high"] for r in rows), base) * 1.05 + 0.02)

    def x(p: float) -> float:
        return label_w + p / hi * w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">'
    ]
    parts.append(f'<text x="4" y="16" class="ct">{escape(title)}</text>')
    axis_y = pad_t + row_h * len(rows) + 4
    step = 0.1 if hi > 0.3 else 0.05
    t = 0.0
    while t <= hi + 1e-9:
        tx = x(t)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{pad_t - 4}" x2="{tx:.1f}" y2="{axis_y}" stroke="#eef0f3"/>'
            f'<text x="{tx:.1f}" y="{axis_y + 13}" class="tick" text-anchor="middle">{t:.0%}</text>'
        )
        t += step
    parts.append(
        f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + w}" y2="{axis_y}" stroke="#444"/>'
        f'<text x="{label_w + w / 2:.1f}" y="{height - 4}" class="tick" text-anchor="middle">win rate (dashed line: average {base:.0%})</text>'
    )
    bx = x(base)
    parts.append(
        f'<line x1="{bx:.1f}" y1="{pad_t - 4}" x2="{bx:.1f}" y2="{axis_y}" stroke="#777" stroke-dasharray="4 3"/>'
    )
    for i, r in enumerate(rows):
        y = pad_t + i * row_h + row_h / 2
        name = str(r.get("label") or r["segment"])
        lines = _wrap(name, chars)
        color = COLORS.get(
            str(r.get("tier", "")), "#d1495b" if r.get("tier") == "negative" else "#7a8aa0"
        )
        y0 = y + 4 - 6.5 * (len(lines) - 1)
        spans = "".join(
            f'<tspan x="{label_w - 8}" y="{y0 + 13 * k:.1f}">{escape(line)}</tspan>'
            for k, line in enumerate(lines)
        )
        parts.append(f'<text class="tick" text-anchor="end">{spans}</text>')
        parts.append(
            f'<line x1="{x(r["ci_low"]):.1f}" y1="{y:.1f}" x2="{x(r["ci_high"]):.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="3"/>'
        )
        parts.append(
            f'<circle cx="{x(r["win_rate"]):.1f}" cy="{y:.1f}" r="4" fill="{color}"><title>{escape(name)}: {r["win_rate"]:.1%} (n={r["n"]}, 95% interval {r["ci_low"]:.1%}-{r["ci_high"]:.1%})</title></circle>'
        )
        parts.append(
            f'<text x="{width - 4}" y="{y + 4:.1f}" class="tick" text-anchor="end">n={r["n"]:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars(
    items: list[tuple[str, float]],
    *,
    title: str = "",
    width: int = 520,
    row_h: int = 20,
    fmt: str = "{:.0%}",
) -> str:
    if not items:
        return ""
    label_w = 180
    height = 26 + row_h * len(items) + 6
    top = max(v for _, v in items) or 1
    w = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">',
        f'<text x="4" y="16" class="ct">{escape(title)}</text>',
    ]
    for i, (k, v) in enumerate(items):
        y = 26 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 13}" class="tick" text-anchor="end">{escape(k)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 2}" width="{max(1.0, w * v / top):.1f}" height="{row_h - 6}" fill="#3d6fb6"/>'
        )
        parts.append(
            f'<text x="{label_w + w * v / top + 6:.1f}" y="{y + 13}" class="tick">{escape(fmt.format(v))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
