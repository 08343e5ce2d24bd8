"""How personas and q-values are written: role, function and seniority labels, ``q=0.012``."""

from __future__ import annotations

ALPHA = 0.05

SENIORITY_LABELS = {
    "c_level": "C-level",
    "vp": "VP",
    "individual_contributor": "individual contributor",
}
FUNCTION_LABELS = {"it": "IT", "hr": "HR"}


def fmt_q(q: float | None) -> str:
    """A q-value with two significant digits, four near the 0.05 bar (0.04996 is not 0.05)."""
    if q is None:
        return ""
    text = f"{q:.4g}" if 0.045 <= q < 0.055 else f"{q:.2g}"
    return "<0.05" if q < ALPHA and float(text) >= ALPHA else text


def q_is(q: float | None) -> str:
    """``q=0.012``, or ``q<0.05`` just under the bar."""
    text = fmt_q(q)
    return f"q{text}" if text.startswith("<") else f"q={text}"


def role_label(role: str) -> str:
    return role.replace("_", " ")


def function_label(fn: str) -> str:
    return FUNCTION_LABELS.get(fn, fn.replace("_", " "))


def seniority_label(level: str) -> str:
    return SENIORITY_LABELS.get(level, level.replace("_", " "))


def persona_label(role: str, function: str | None) -> str:
    """``champion (operations)``, or the bare role label."""
    return role_label(role) + (f" ({function_label(function)})" if function else "")
