"""Numbers as people read them: one formatter for every table, figure, sentence and notebook,
so that a number about one metric and scenario is printed the same way everywhere."""

from __future__ import annotations

import math
from typing import Any


def format_number(value: Any) -> str:
    """A number for a table: about three significant figures, thousands separated, ``–`` for NaN.

    Examples
    --------
    >>> format_number(12345.6), format_number(3.14159), format_number(0.01234), format_number(float("nan"))
    ('12,346', '3.14', '0.0123', '–')
    >>> format_number(0.000374)
    '0.000374'
    """
    if value is None:
        return "–"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "–" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    size = abs(x)
    if size == 0:
        return "0"
    if size >= 1000:
        text = f"{x:,.0f}"
    elif size >= 100:
        text = f"{x:.1f}"
    elif size >= 1:
        text = f"{x:.2f}"
    else:
        text = f"{x:.3g}" if size >= 1e-6 else f"{x:.2e}"
        if "e" in text and size >= 1e-6:
            text = f"{x:.{max(0, -math.floor(math.log10(size)) + 2)}f}"
    return text.replace("-", "−")


def format_signed(value: Any) -> str:
    """A change: :func:`format_number` with a ``+`` on increases (never ``-0.0``).

    Examples
    --------
    >>> format_signed(94.63), format_signed(-2912.6), format_signed(0.0), format_signed(-0.04)
    ('+94.63', '−2,913', '0', '−0.04')
    """
    text = format_number(value)
    try:
        positive = float(value) > 0
    except (TypeError, ValueError):
        return text
    return f"+{text}" if positive and text != "0" else text


def format_percent(value: Any) -> str:
    """A change in %, always signed and in percent: ``+33.5%``, ``−28%``, ``–`` for NaN and
    ``+∞%`` for an unbounded interval's end (as :func:`format_number` prints ``∞`` for the same
    bound in the metric's unit).

    Examples
    --------
    >>> format_percent(33.49), format_percent(-0.282), format_percent(195.1), format_percent(float("inf"))
    ('+33.5%', '−0.28%', '+195%', '+∞%')
    """
    x = float(value) if value is not None else math.nan
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "+∞%" if x > 0 else "−∞%"
    size = abs(x)
    digits = 0 if size >= 100 else (1 if size >= 10 else 2)
    return f"{x:+.{digits}f}%".replace("-", "−")


def format_interval(estimate: Any, low: Any, high: Any, percent: bool = False) -> str:
    """``estimate [low, high]`` with one formatter, so every output prints the same text; ``–``
    alone when there is no estimate (e.g. a change in % of a baseline mean of 0).

    Examples
    --------
    >>> format_interval(5.0, 2.0, 8.0, percent=True), format_interval(float("nan"), float("nan"), float("nan"))
    ('+5.00% [+2.00%, +8.00%]', '–')
    """
    fmt = format_percent if percent else format_number
    try:
        if math.isnan(float(estimate)):
            return "–"
    except (TypeError, ValueError):
        pass
    return f"{fmt(estimate)} [{fmt(low)}, {fmt(high)}]"
