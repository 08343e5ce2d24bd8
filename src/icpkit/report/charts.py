"""Inline SVG charts for the self-contained report (no JavaScript, no CDN)."""

from __future__ import annotations

from html import escape

import numpy as np

COLORS = {"1": "#1b7f3b", "2": "#58a55c", "3": "#a5d396", "none": "#c9ced6", "excluded": "#d1495b"}


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
) -> str:
    """Stacked histogram; ``groups`` colours each value (tier labels)."""
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups if groups is not None else ["none"] * len(v), dtype=object)
    edges = np.linspace(lo, hi, bins + 1)
    keys = order or sorted(set(g.tolist()))
    counts = {k: np.histogram(v[g == k], bins=edges)[0] for k in keys}
    total = np.sum([c for c in counts.values()], axis=0) if counts else np.zeros(bins)
    top = max(1, int(total.max()) if len(total) else 1)
    pad_l, pad_b, pad_t = 44, 34, 24
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
    parts.append(
        f'<text x="{pad_l - 6}" y="{pad_t + 4}" class="tick" text-anchor="end">{top}</text>'
    )
    lx = pad_l + w - 10
    for k in reversed(keys):
        parts.append(
            f'<rect x="{lx - 10}" y="{pad_t - 12}" width="10" height="10" fill="{COLORS.get(k, "#7a8aa0")}"/><text x="{lx - 14}" y="{pad_t - 3}" class="tick" text-anchor="end">{escape(_legend(k))}</text>'
        )
        lx -= 24 + 7 * len(_legend(k))
    parts.append("</svg>")
    return "".join(parts)


def _legend(k: str) -> str:
    return f"Tier {k}" if k in ("1", "2", "3") else k


def forest(
    rows: list[dict], base: float, *, title: str = "", width: int = 720, row_h: int = 22
) -> str:
    """Win rate with 95% interval per segment against the base rate."""
    if not rows:
        return ""
    label_w = 330
    pad_t = 26
    height = pad_t + row_h * len(rows) + 26
    w = width - label_w - 60
    hi = min(1.0, max(max(r["ci_high"] for r in rows), base) * 1.05 + 0.02)

    def x(p: float) -> float:
        return label_w + p / hi * w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">'
    ]
    parts.append(f'<text x="4" y="16" class="ct">{escape(title)}</text>')
    bx = x(base)
    parts.append(
        f'<line x1="{bx:.1f}" y1="{pad_t - 4}" x2="{bx:.1f}" y2="{height - 22}" stroke="#999" stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<text x="{bx:.1f}" y="{height - 8}" class="tick" text-anchor="middle">base {base:.0%}</text>'
    )
    for i, r in enumerate(rows):
        y = pad_t + i * row_h + row_h / 2
        label = r["segment"] if len(r["segment"]) <= 52 else r["segment"][:50] + "…"
        color = COLORS.get(
            str(r.get("tier", "")), "#d1495b" if r.get("tier") == "negative" else "#7a8aa0"
        )
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(label)}</text>'
        )
        parts.append(
            f'<line x1="{x(r["ci_low"]):.1f}" y1="{y:.1f}" x2="{x(r["ci_high"]):.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="3"/>'
        )
        parts.append(
            f'<circle cx="{x(r["win_rate"]):.1f}" cy="{y:.1f}" r="4" fill="{color}"><title>{escape(r["segment"])}: {r["win_rate"]:.1%} (n={r["n"]}, 95% CI {r["ci_low"]:.1%}-{r["ci_high"]:.1%})</title></circle>'
        )
        parts.append(
            f'<text x="{width - 4}" y="{y + 4:.1f}" class="tick" text-anchor="end">n={r["n"]}</text>'
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
